/** Filtering mode: the trunk ports' `bridge vlan` entries, compared VID by VID. */
import type { HostState, Link, VlanEntry } from '../state/types.js';
import type { Want } from './desired.js';
import { addVlanEntry, delVlanEntry, type Step } from './steps.js';

const NATIVE: VlanEntry = { dev: '', vid: 1, pvid: true, untagged: true };

const expand = (entries: VlanEntry[]): Map<number, VlanEntry> => {
  const m = new Map<number, VlanEntry>();
  for (const e of entries) for (let v = e.vid; v <= (e.vidEnd ?? e.vid); v++) m.set(v, { ...e, vid: v, vidEnd: undefined });
  return m;
};

/** Consecutive VIDs with equal flags become one range line. */
export const compress = (entries: VlanEntry[]): VlanEntry[] => {
  const sorted = [...entries].sort((a, b) => a.vid - b.vid);
  const out: VlanEntry[] = [];
  for (const e of sorted) {
    const last = out[out.length - 1];
    if (last && last.dev === e.dev && !e.pvid && !last.pvid && last.untagged === e.untagged && (last.vidEnd ?? last.vid) + 1 === e.vid) last.vidEnd = e.vid;
    else out.push({ ...e, vidEnd: undefined });
  }
  return out.map((e) => (e.vidEnd === undefined ? { dev: e.dev, vid: e.vid, pvid: e.pvid, untagged: e.untagged } : e));
};

export const planVlanEntries = (want: Want, s: HostState, proj: Map<string, Link>): Step[] => {
  const devs = [...new Set(want.vlanEntries.map((e) => e.dev))];
  const steps: Step[] = [];
  for (const dev of devs) {
    const fresh = s.links.find((l) => l.name === dev)?.master !== proj.get(dev)?.master;
    const current = expand(fresh ? [{ ...NATIVE, dev }] : s.vlans.filter((e) => e.dev === dev));
    const desired = expand(want.vlanEntries.filter((e) => e.dev === dev));
    const add = [...desired.values()].filter((e) => {
      const c = current.get(e.vid);
      return !c || c.pvid !== e.pvid || c.untagged !== e.untagged;
    });
    const del = [...current.values()].filter((c) => !desired.has(c.vid) && !(c.vid === 1 && c.pvid));
    steps.push(...compress(del).map(delVlanEntry), ...compress(add).map(addVlanEntry));
  }
  return steps;
};
