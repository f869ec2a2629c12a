/**
 * xl's per-vif `vlan=` key (xl-network-configuration(5), Xen 4.19+), which libxl writes to the
 * backend as `vlan`: terms separated by `/`, each `N[p|u]`, `A-B[u]` or `N+OxC[u]`. Exactly one
 * VID is the PVID (`p`, which implies untagged); a lone single VID is the PVID without `p`.
 *
 * `N+OxC` is read as the manual's prose defines it: N and C further entries O apart (100+10x4 is
 * 100, 110, 120, 130, 140). The manual's own example lists 150 as well, one entry more than its
 * definition; the narrower reading is the one that never gives a guest a VLAN nobody asked for.
 */
import { shown, XbError } from '../errors.js';
import type { BridgeRequest } from './bridge-spec.js';

export interface VlanKey {
  pvid: number;
  /** Tagged VIDs, ascending. */
  tagged: number[];
  /** Untagged VIDs besides the PVID (`u`), ascending. */
  untagged: number[];
}

const NUM = '([1-9][0-9]{0,3})';
const SINGLE = new RegExp(`^${NUM}([pu]?)$`);
const RANGE = new RegExp(`^${NUM}-${NUM}(u?)$`);
const STRIDE = new RegExp(`^${NUM}\\+${NUM}x([0-9]{1,4})(u?)$`);

const bad = (raw: string, term: string, why: string): XbError => new XbError('xenstore', `vlan ${shown(raw)}: term ${shown(term)} ${why}`);

const vid = (raw: string, term: string, n: number): number => {
  if (n > 4094) throw bad(raw, term, `names VLAN ${n}, outside 1-4094`);
  return n;
};

interface Term {
  vids: number[];
  flag: '' | 'p' | 'u';
}

const parseTerm = (raw: string, term: string): Term => {
  let m = SINGLE.exec(term);
  if (m) return { vids: [vid(raw, term, Number(m[1]))], flag: (m[2] ?? '') as Term['flag'] };
  m = RANGE.exec(term);
  if (m) {
    const a = vid(raw, term, Number(m[1]));
    const b = vid(raw, term, Number(m[2]));
    if (a > b) throw bad(raw, term, `is a range whose start ${a} is above its end ${b}`);
    return { vids: Array.from({ length: b - a + 1 }, (_, i) => a + i), flag: (m[3] ?? '') as Term['flag'] };
  }
  m = STRIDE.exec(term);
  if (m) {
    const start = vid(raw, term, Number(m[1]));
    const step = Number(m[2]);
    const count = Number(m[3]);
    const vids = Array.from({ length: count + 1 }, (_, i) => start + i * step);
    vid(raw, term, vids[vids.length - 1] ?? start);
    return { vids, flag: (m[4] ?? '') as Term['flag'] };
  }
  if (term === '') return fail(raw, term, 'is empty');
  if (/p$/.test(term) && (RANGE.test(`${term.slice(0, -1)}u`) || STRIDE.test(`${term.slice(0, -1)}u`))) {
    return fail(raw, term, 'marks a range as the PVID (p goes with a single VLAN ID)');
  }
  return fail(raw, term, 'is not N, Np, Nu, A-B[u] or N+OxC[u] with VLAN IDs 1-4094');
};

const fail = (raw: string, term: string, why: string): never => {
  throw bad(raw, term, why);
};

export const parseVlanKey = (raw: string): VlanKey => {
  if (raw.length > 1024) throw new XbError('xenstore', `vlan is ${raw.length} characters long (at most 1024)`);
  const terms = raw.split('/');
  const seen = new Map<number, string>();
  const pvids: number[] = [];
  const tagged: number[] = [];
  const untagged: number[] = [];
  for (const text of terms) {
    const t = parseTerm(raw, text);
    for (const v of t.vids) {
      const other = seen.get(v);
      if (other !== undefined) throw bad(raw, text, `names VLAN ${v} again (already in ${shown(other)})`);
      seen.set(v, text);
    }
    if (t.flag === 'p') pvids.push(...t.vids);
    else if (t.flag === 'u') untagged.push(...t.vids);
    else tagged.push(...t.vids);
  }
  if (pvids.length > 1) throw new XbError('xenstore', `vlan ${shown(raw)}: more than one PVID (${pvids.join(', ')}); mark exactly one VLAN with p`);
  const lone = terms.length === 1 && tagged.length === 1 && pvids.length === 0;
  const pvid = lone ? tagged.pop() : pvids[0];
  if (pvid === undefined) throw new XbError('xenstore', `vlan ${shown(raw)}: no PVID; mark exactly one VLAN with p (e.g. 10p/20)`);
  const asc = (a: number, b: number): number => a - b;
  return { pvid, tagged: tagged.sort(asc), untagged: untagged.sort(asc) };
};

/**
 * The port a vif asks for, from xenstore `bridge` and `vlan` together: `vlan` alone sets the VLANs;
 * with a bridge string that already names VLANs (BR.TAG, :TRUNK) the two must say the same.
 */
export const combineVlanKey = (req: BridgeRequest, raw: string | undefined): BridgeRequest => {
  if (raw === undefined || raw === '') return req;
  const key = parseVlanKey(raw);
  const fromKey: BridgeRequest = { bridge: req.bridge, tag: key.pvid, trunks: key.tagged, ...(key.untagged.length > 0 ? { untagged: key.untagged } : {}) };
  if (req.tag === undefined && req.trunks.length === 0) return fromKey;
  const same = req.tag === key.pvid && key.untagged.length === 0 && [...req.trunks].sort((a, b) => a - b).join() === key.tagged.join();
  if (!same) {
    const asked = `${req.tag === undefined ? 'no native VLAN' : `native ${req.tag}`}${req.trunks.length > 0 ? `, tagged ${req.trunks.join(', ')}` : ''}`;
    throw new XbError('xenstore', `vlan ${shown(raw)} and bridge "${req.bridge}${req.tag === undefined ? '' : `.${req.tag}`}${req.trunks.map((t) => `:${t}`).join('')}" disagree (the bridge string asks for ${asked}); give the VLANs in one of them`);
  }
  return fromKey;
};
