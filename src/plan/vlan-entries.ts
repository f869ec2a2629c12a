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

/**
 * Steps that turn a port's current entries into the desired ones. The default untagged PVID 1 stays
 * when keepNative (the untagged native network) and is removed otherwise (access and pure trunks).
 */
export const diffVlanEntries = (current: VlanEntry[], desired: VlanEntry[], keepNative: boolean): Step[] => {
  const cur = expand(current);
  const want = expand(desired);
  const add = [...want.values()].filter((e) => {
    const c = cur.get(e.vid);
    return !c || c.pvid !== e.pvid || c.untagged !== e.untagged;
  });
  const del = [...cur.values()].filter((c) => !want.has(c.vid) && !(keepNative && c.vid === 1 && c.pvid));
  return [...compress(del).map(delVlanEntry), ...compress(add).map(addVlanEntry)];
};

/** A port that was just enslaved has what the bridge gives every new port: untagged PVID 1. */
export const freshPortEntries = (dev: string): VlanEntry[] => [{ ...NATIVE, dev }];

export const planVlanEntries = (want: Want, s: HostState, proj: Map<string, Link>): Step[] =>
  [...new Set(want.vlanEntries.map((e) => e.dev))].flatMap((dev) => {
    const fresh = s.links.find((l) => l.name === dev)?.master !== proj.get(dev)?.master;
    const current = fresh ? freshPortEntries(dev) : s.vlans.filter((e) => e.dev === dev);
    return diffVlanEntries(current, want.vlanEntries.filter((e) => e.dev === dev), true);
  });
