/** Filtering mode: the trunk ports' `bridge vlan` entries, compared range by range. */
import type { HostState, Link, VlanEntry } from '../state/types.js';
import type { Want } from './desired.js';
import { addVlanEntry, delVlanEntry, type Step } from './steps.js';

const NATIVE: VlanEntry = { dev: '', vid: 1, pvid: true, untagged: true };

const last = (e: VlanEntry): number => e.vidEnd ?? e.vid;
const sameFlags = (a: VlanEntry, b: VlanEntry): boolean => a.pvid === b.pvid && a.untagged === b.untagged;
const cut = (e: VlanEntry, vid: number, end: number): VlanEntry => ({ dev: e.dev, vid, ...(end > vid ? { vidEnd: end } : {}), pvid: e.pvid, untagged: e.untagged });

/**
 * One port's entries as sorted, disjoint ranges. The kernel's never overlap; a topology's may (a
 * VLAN inside the vif range), and then the entry given last decides, as it would VID by VID.
 */
const disjoint = (entries: VlanEntry[]): VlanEntry[] => {
  const sorted = entries.map((e, order) => ({ e, order })).sort((a, b) => a.e.vid - b.e.vid || a.order - b.order);
  if (sorted.every((x, i) => i === 0 || x.e.vid > last(sorted[i - 1]!.e))) return sorted.map((x) => x.e);
  const cuts = [...new Set(entries.flatMap((e) => [e.vid, last(e) + 1]))].sort((a, b) => a - b);
  const out: VlanEntry[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const from = cuts[i]!;
    const owner = [...entries].reverse().find((e) => e.vid <= from && from <= last(e));
    if (owner) out.push(cut(owner, from, cuts[i + 1]! - 1));
  }
  return out;
};

/** Consecutive VIDs and ranges with equal flags become one range line; a PVID entry stays one VID. */
export const compress = (entries: VlanEntry[]): VlanEntry[] => {
  const sorted = [...entries].sort((a, b) => a.vid - b.vid);
  const out: VlanEntry[] = [];
  for (const e of sorted) {
    const prev = out[out.length - 1];
    if (prev && prev.dev === e.dev && !e.pvid && !prev.pvid && prev.untagged === e.untagged && last(prev) + 1 === e.vid) prev.vidEnd = last(e);
    else out.push({ ...e, vidEnd: e.vidEnd });
  }
  return out.map((e) => (e.vidEnd === undefined || e.vidEnd === e.vid ? { dev: e.dev, vid: e.vid, pvid: e.pvid, untagged: e.untagged } : e));
};

/**
 * The pieces of `from` not covered by an entry of `by` with `keep(fromEntry, byEntry)`: both lists
 * sorted and disjoint, walked once, so the work follows the number of ranges, not of VIDs.
 */
const minus = (from: VlanEntry[], by: VlanEntry[], keep: (a: VlanEntry, b: VlanEntry) => boolean): VlanEntry[] => {
  const out: VlanEntry[] = [];
  let j = 0;
  for (const a of from) {
    let at = a.vid;
    while (j < by.length && last(by[j]!) < a.vid) j++;
    for (let k = j; k < by.length && by[k]!.vid <= last(a) && at <= last(a); k++) {
      const b = by[k]!;
      if (!keep(a, b)) continue;
      if (b.vid > at) out.push(cut(a, at, b.vid - 1));
      at = Math.max(at, last(b) + 1);
    }
    if (at <= last(a)) out.push(cut(a, at, last(a)));
  }
  return out;
};

/**
 * Steps that turn a port's current entries into the desired ones, diffed as ranges. The default
 * untagged PVID 1 stays when keepNative (the untagged native network) and is removed otherwise
 * (access and pure trunks).
 */
export const diffVlanEntries = (current: VlanEntry[], desired: VlanEntry[], keepNative: boolean): Step[] => {
  const cur = disjoint(current);
  const want = disjoint(desired);
  const add = minus(want, cur, sameFlags);
  const native = keepNative ? cur.filter((c) => c.vid === 1 && c.pvid).map((c) => cut(c, 1, 1)) : [];
  const del = minus(minus(cur, want, () => true), native, () => true);
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
