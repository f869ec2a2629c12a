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
  const seen: Seen = { count: hits.length, tags: [...new Set(hits.map(outerVid))], dst: [...new Set(hits.map((f) => f.dst))] };
  return p.family === 6 ? { ...seen, src: [...new Set(hits.flatMap((f) => f.ipv6?.src ?? []))] } : seen;
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
    const aux = p.primary === 'echo' && hop.role !== 'vif' ? auxOf(p).map((c) => judge(hop, c, seenAt(frames, p, c, nonce), captureError)) : [];
    return { hop, captureError, checks, aux, ok: checks.every((c) => c.ok) };
  });

const ARP_EXCHANGE: Check[] = [{ probe: 'arp', dir: 'request' }, { probe: 'arp', dir: 'reply' }];
const ND_EXCHANGE: Check[] = [{ probe: 'nd', dir: 'request' }, { probe: 'nd', dir: 'reply' }];
const MCAST: Check[] = [{ probe: 'mcast', dir: 'request' }, { probe: 'mcast', dir: 'reply' }];

/** The exchange ping needs before its first echo: ARP, or IPv6's neighbour solicitation and advertisement. */
const exchangeOf = (p: PathSpec): Check[] => (p.family === 6 ? ND_EXCHANGE : ARP_EXCHANGE);

/** Observed on the chain, not required: the exchange, and on IPv6 the all-nodes echo that guests' answers are traced by. */
const auxOf = (p: PathSpec): Check[] => (p.family === 6 ? [...ND_EXCHANGE, ...MCAST] : ARP_EXCHANGE);

/** The probe a vif must see: the ARP broadcast, or the all-nodes echo. */
export const floodOf = (p: PathSpec): 'arp' | 'mcast' => (p.family === 6 ? 'mcast' : 'arp');

/**
 * A guest's answer to the all-nodes echo: missing at its vif, or seen there and not at dom0's
 * interface (its guard, which acts after the vif's capture point, or the bridge dropped it).
 */
const guestAnswerGap = (origin: HopResult | undefined, vif: HopResult): Vanish | undefined => {
  const at = vif.checks.find((c) => c.probe === 'mcast' && c.dir === 'reply');
  if (!at) return undefined;
  if (!at.ok) return { hop: vif.hop.dev, probe: 'mcast', dir: 'reply', why: at.why ?? 'missing', seenTags: at.seen.tags };
  const there = origin && resultOf(origin, MCAST[1]!);
  if (!origin || !there || there.why === 'no-capture') return undefined;
  const arrived = (at.seen.src ?? []).some((a) => there.seen.src?.includes(a));
  return arrived ? undefined : { hop: origin.hop.dev, probe: 'mcast', dir: 'reply', why: 'missing', after: vif.hop.dev, seenTags: [] };
};

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
  // An echo that never left dom0 often waited for an ARP (IPv6: neighbour) answer: then that exchange shows the gap.
  const [ask, answer] = exchangeOf(p) as [Check, Check];
  const asked = chain[0] && resultOf(chain[0], ask)?.ok;
  if (first?.probe === 'echo' && first.dir === 'request' && first.after === undefined && p.primary === 'echo' && asked) {
    first = firstGap(chain, ask) ?? firstGap(reverse, answer) ?? first;
  }
  const vifs = hops.filter((h) => h.hop.role === 'vif')
    .flatMap((h) => firstGap([h], { probe: floodOf(p), dir: 'request' }, feederOf(hops, h)) ?? guestAnswerGap(chain[0], h) ?? []);
  return [...(first ? [first] : []), ...vifs];
};

export const tagText = (t: Tag): string => (t === null ? 'untagged' : `vlan ${t}`);
