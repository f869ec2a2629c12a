// VLAN entries are diffed as ranges: the steps equal those of a VID-by-VID comparison on random
// entry sets (overlapping desired ranges, flag changes, the native PVID 1), and a 4094-VID trunk
// costs steps per changed range, not per VID.
import { describe, expect, it } from 'vitest';
import { addVlanEntry, delVlanEntry, type Step } from '../../src/plan/steps.js';
import { compress, diffVlanEntries } from '../../src/plan/vlan-entries.js';
import { render } from '../../src/plan/render.js';
import type { VlanEntry } from '../../src/state/types.js';

/** The plain definition: expand every range to VIDs, compare VID by VID (the later entry wins). */
const byVid = (current: VlanEntry[], desired: VlanEntry[], keepNative: boolean): string[] => {
  const expand = (es: VlanEntry[]): Map<number, VlanEntry> => {
    const m = new Map<number, VlanEntry>();
    for (const e of es) for (let v = e.vid; v <= (e.vidEnd ?? e.vid); v++) m.set(v, { dev: e.dev, vid: v, pvid: e.pvid, untagged: e.untagged });
    return m;
  };
  const cur = expand(current);
  const want = expand(desired);
  const add = [...want.values()].filter((e) => { const c = cur.get(e.vid); return !c || c.pvid !== e.pvid || c.untagged !== e.untagged; });
  const del = [...cur.values()].filter((c) => !want.has(c.vid) && !(keepNative && c.vid === 1 && c.pvid));
  return text([...compress(del).map(delVlanEntry), ...compress(add).map(addVlanEntry)]);
};

/** Each step with its undo, short: "del 100 | add 100 untagged". */
const text = (steps: Step[]): string[] =>
  steps.map((s) => [render(s.op).line, ...s.undo.map((u) => render(u).line)].join(' | ').replace(/vlan (add|del) dev p0 vid /g, '$1 '));

const lines = (current: VlanEntry[], desired: VlanEntry[], keepNative: boolean): string[] => text(diffVlanEntries(current, desired, keepNative));

/** Small, seeded generator: reproducible failures. */
const rng = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

const randomEntries = (r: () => number, disjoint: boolean): VlanEntry[] => {
  const out: VlanEntry[] = [];
  let at = 1;
  for (let i = Math.floor(r() * 6); i > 0; i--) {
    const vid = disjoint ? at + Math.floor(r() * 8) : 1 + Math.floor(r() * 40);
    const len = Math.floor(r() * 10);
    const pvid = len === 0 && r() < 0.2;
    out.push({ dev: 'p0', vid, ...(len > 0 ? { vidEnd: vid + len } : {}), pvid, untagged: pvid || r() < 0.2 });
    at = vid + len + 1;
  }
  if (disjoint && r() < 0.5 && !out.some((e) => e.vid === 1)) out.unshift({ dev: 'p0', vid: 1, pvid: true, untagged: true });
  return out;
};

describe('VLAN entries diffed as ranges', () => {
  it('gives the steps of a VID-by-VID comparison (500 random cases)', () => {
    const r = rng(16);
    for (let i = 0; i < 500; i++) {
      const current = randomEntries(r, true);
      const desired = randomEntries(r, r() < 0.5);
      const keep = r() < 0.5;
      expect(lines(current, desired, keep), JSON.stringify({ current, desired, keep })).toEqual(byVid(current, desired, keep));
    }
  });

  it('a 4094-VID trunk: nothing to do, one VID dropped, one VID added', () => {
    const all: VlanEntry[] = [{ dev: 'p0', vid: 1, pvid: true, untagged: true }, { dev: 'p0', vid: 2, vidEnd: 4094, pvid: false, untagged: false }];
    const trunk = (...ranges: [number, number][]): VlanEntry[] => ranges.map(([a, b]) => ({ dev: 'p0', vid: a, ...(b > a ? { vidEnd: b } : {}), pvid: false, untagged: false }));
    expect(lines(all, trunk([2, 4094]), true)).toEqual([]);
    expect(lines(all, trunk([2, 99], [101, 4094]), true)).toEqual(['del 100 | add 100']);
    expect(lines(trunk([2, 99], [101, 4094]), trunk([2, 4094]), true)).toEqual(['add 100 | del 100']);
    expect(lines(all, trunk([10, 200]), false)).toEqual(['del 1 | add 1 pvid untagged', 'del 2-9 | add 2-9', 'del 201-4094 | add 201-4094']);
  });
});
