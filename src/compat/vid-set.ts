/** Sets of VLAN IDs as sorted, merged ranges: allow-lists run to thousands of VIDs. */
import type { VidRange } from '../model/topology.js';

export const normalize = (ranges: VidRange[]): VidRange[] => {
  const out: VidRange[] = [];
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
};

export const single = (vid: number): VidRange => ({ start: vid, end: vid });

/** The VIDs of `a` that `b` lacks. */
export const minus = (a: VidRange[], b: VidRange[]): VidRange[] => {
  let rest = normalize(a);
  for (const cut of normalize(b)) {
    rest = rest.flatMap((r) => {
      if (cut.end < r.start || cut.start > r.end) return [r];
      const keep: VidRange[] = [];
      if (cut.start > r.start) keep.push({ start: r.start, end: cut.start - 1 });
      if (cut.end < r.end) keep.push({ start: cut.end + 1, end: r.end });
      return keep;
    });
  }
  return rest;
};

export const vidText = (ranges: VidRange[]): string => ranges.map((r) => (r.start === r.end ? `${r.start}` : `${r.start}-${r.end}`)).join(', ');
