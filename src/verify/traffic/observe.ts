/**
 * From captured frames to verdicts: per hop, per check, seen or not and with which tag; then the
 * first gap along the frames' own direction (requests from dom0 outwards, replies from the uplink
 * inwards, the DF probe the same way, then each vif on its own).
 */
import type { Frame } from './frame.js';
import { outerVid } from './frame.js';
import { isProbe } from './match.js';
import type { Check, CheckResult, Hop, HopResult, PathSpec, Seen, Tag, Vanish } from './types.js';

/** Per device: its frames, or why there are none. */
export type Captured = Map<string, Frame[] | string>;

const seenAt = (frames: Frame[], p: PathSpec, c: Check, nonce: Buffer): Seen => {
  const hits = frames.filter((f) => isProbe(f, p, c.probe, c.dir, nonce));
  return { count: hits.length, tags: [...new Set(hits.map(outerVid))], dst: [...new Set(hits.map((f) => f.dst))] };
};

const judge = (hop: Hop, c: Check, seen: Seen, captureError: string | undefined): CheckResult => {
  if (captureError !== undefined) return { ...c, expected: hop.tag, seen, ok: false, why: 'no-capture' };
  if (seen.tags.includes(hop.tag)) return { ...c, expected: hop.tag, seen, ok: true };
  return { ...c, expected: hop.tag, seen, ok: false, why: seen.count === 0 ? 'missing' : 'wrong-tag' };
};

export const hopResults = (p: PathSpec, captured: Captured, nonce: Buffer): HopResult[] =>
  p.hops.map((hop) => {
    const got = captured.get(hop.dev);
    const captureError = typeof got === 'string' ? got : got === undefined ? 'not captured' : undefined;
    const frames = Array.isArray(got) ? got : [];
    const checks = hop.checks.map((c) => judge(hop, c, seenAt(frames, p, c, nonce), captureError));
    const aux = p.primary === 'echo' && hop.role !== 'vif' ? ARP_EXCHANGE.map((c) => judge(hop, c, seenAt(frames, p, c, nonce), captureError)) : [];
    return { hop, captureError, checks, aux, ok: checks.every((c) => c.ok) };
  });

const ARP_EXCHANGE: Check[] = [{ probe: 'arp', dir: 'request' }, { probe: 'arp', dir: 'reply' }];

export const resultOf = (h: HopResult, c: Check): CheckResult | undefined =>
  h.checks.find((x) => x.probe === c.probe && x.dir === c.dir) ?? h.aux.find((x) => x.probe === c.probe && x.dir === c.dir);

/** The first hop in `order` that misses check `c`, with the last one before it that had it. */
const firstGap = (order: HopResult[], c: Check, start?: string): Vanish | undefined => {
  let after = start;
  for (const h of order) {
    const r = resultOf(h, c);
    if (!r) continue;
    if (!r.ok) return { hop: h.hop.dev, probe: c.probe, dir: c.dir, why: r.why ?? 'missing', after, seenTags: r.seen.tags };
    after = h.hop.dev;
  }
  return undefined;
};

/** Where a vif's frames come from: the chain hop on the same bridge, else dom0's own interface. */
export const feederOf = (hops: HopResult[], vif: HopResult): string | undefined => {
  const chain = hops.filter((h) => h.hop.role !== 'vif');
  return (chain.find((h) => h.hop.master !== undefined && h.hop.master === vif.hop.master) ?? chain.find((h) => h.hop.dev === vif.hop.master) ?? chain[0])?.hop.dev;
};

export const findFailures = (p: PathSpec, hops: HopResult[]): Vanish[] => {
  const chain = hops.filter((h) => h.hop.role !== 'vif');
  const reverse = [...chain].reverse();
  const probes = [p.primary, ...(p.dfSize !== undefined && p.primary === 'echo' ? ['df' as const] : [])];
  let first: Vanish | undefined;
  for (const probe of probes) {
    first = firstGap(chain, { probe, dir: 'request' }) ?? firstGap(reverse, { probe, dir: 'reply' });
    if (first) break;
  }
  // An echo that never left dom0 often waited for an ARP answer: then the ARP exchange shows the gap.
  const arpLeft = chain[0] && resultOf(chain[0], ARP_EXCHANGE[0]!)?.ok;
  if (first?.probe === 'echo' && first.dir === 'request' && first.after === undefined && p.primary === 'echo' && arpLeft) {
    first = firstGap(chain, ARP_EXCHANGE[0]!) ?? firstGap(reverse, ARP_EXCHANGE[1]!) ?? first;
  }
  const vifs = hops.filter((h) => h.hop.role === 'vif').flatMap((h) => firstGap([h], { probe: 'arp', dir: 'request' }, feederOf(hops, h)) ?? []);
  return [...(first ? [first] : []), ...vifs];
};

export const tagText = (t: Tag): string => (t === null ? 'untagged' : `vlan ${t}`);
