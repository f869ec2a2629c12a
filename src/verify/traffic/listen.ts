/**
 * `verify --traffic --listen SECONDS`: sends nothing. Captures on every hop, tallies frames per
 * VLAN per hop, and flags VLANs seen on the uplink that reach no port expecting them: a VLAN no
 * port expects at all, broadcasts that every port of the VLAN should get but some did not, or a
 * VLAN that reached none of its ports.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from '../../context.js';
import type { Topology } from '../../model/topology.js';
import { readCapture, stopCaptures } from './capture.js';
import { BROADCAST, outerVid, type Frame } from './frame.js';
import { derivePaths } from './paths.js';
import { captureHops, finish, prepare, type TrafficOptions } from './traffic.js';
import type { Hop, HopRole, PathSpec, Tag, VifExpectation } from './types.js';

export interface ListenOptions extends Omit<TrafficOptions, 'waitSeconds'> {
  seconds: number;
  /** Called once every capture is listening (tests start their traffic here). */
  onListening?: () => Promise<void> | void;
}

/** Counts keyed by VLAN ID, "untagged" for untagged frames. */
export type Tally = Record<string, number>;

export interface ListenHop {
  dev: string;
  role: HopRole;
  master?: string;
  error?: string;
  frames: Tally;
  broadcasts: Tally;
}

export interface ListenFlag {
  /** null: the untagged network. */
  vid: number | null;
  uplink: string;
  frames: number;
  /** Ports that should have had this VLAN's frames and had none. */
  missedAt: string[];
  message: string;
}

export interface ListenReport {
  ok: boolean;
  seconds: number;
  elapsedMs: number;
  pcapDir?: string;
  hops: ListenHop[];
  flags: ListenFlag[];
  vifs: VifExpectation[];
}

const keyOf = (t: Tag): string => (t === null ? 'untagged' : String(t));
const netText = (vid: number | null): string => (vid === null ? 'untagged frames' : `VLAN ${vid}`);

const tally = (frames: Frame[], only?: (f: Frame) => boolean): Tally => {
  const out: Tally = {};
  for (const f of frames) if (!only || only(f)) out[keyOf(outerVid(f))] = (out[keyOf(outerVid(f))] ?? 0) + 1;
  return out;
};

/** Every hop on every path of network `vid` except uplinks: all of them get that network's broadcasts. */
const expecting = (paths: PathSpec[], vid: number | null): Hop[] =>
  paths.filter((p) => p.vid === vid).flatMap((p) => p.hops.filter((h) => h.role !== 'uplink'));

/** Per hop, per VLAN key: the broadcast frames it saw, known by sender and bytes (the same on every hop, whatever the tag). */
export type Heard = Map<string, Map<string, Set<string>>>;

const FINGERPRINT_BYTES = 200;
const fingerprint = (f: Frame): string => `${f.src}/${f.ethertype}/${f.body.subarray(0, FINGERPRINT_BYTES).toString('hex')}`;

export const heardOf = (dev: string, frames: Frame[], into: Heard): void => {
  const byKey = new Map<string, Set<string>>();
  for (const f of frames.filter((x) => x.dst === BROADCAST)) {
    const k = keyOf(outerVid(f));
    byKey.set(k, (byKey.get(k) ?? new Set()).add(fingerprint(f)));
  }
  into.set(dev, byKey);
};

/** `ignore`: networks of the file left out by --vlan (their frames are neither expected nor flagged). */
export const flagsOf = (paths: PathSpec[], hops: ListenHop[], heard: Heard, ignore: (vid: number | null) => boolean = () => false): ListenFlag[] => {
  const flags: ListenFlag[] = [];
  const byDev = new Map(hops.map((h) => [h.dev, h]));
  const uplinks = [...new Set(paths.flatMap((p) => p.hops.filter((h) => h.role === 'uplink').map((h) => h.dev)))];
  for (const up of uplinks.flatMap((d) => byDev.get(d) ?? [])) {
    for (const [key, frames] of Object.entries(up.frames)) {
      const vid = key === 'untagged' ? null : Number(key);
      if (ignore(vid)) continue;
      const want = expecting(paths, vid).filter((h) => byDev.get(h.dev)?.error === undefined);
      const got = (h: Hop): number => byDev.get(h.dev)?.frames[keyOf(h.tag)] ?? 0;
      const sent = heard.get(up.dev)?.get(key) ?? new Set<string>();
      const missedBroadcast = (h: Hop): boolean => {
        const at = heard.get(h.dev)?.get(keyOf(h.tag));
        return [...sent].some((fp) => !at?.has(fp));
      };
      const uniq = (hs: Hop[]): string[] => [...new Set(hs.map((h) => h.dev))];
      if (want.length === 0) {
        flags.push({ vid, uplink: up.dev, frames, missedAt: [], message: `${netText(vid)}: ${frames} frame(s) on ${up.dev}, but no port expects ${netText(vid)} (not in the file)` });
      } else if (want.every((h) => got(h) === 0)) {
        const missed = uniq(want);
        flags.push({ vid, uplink: up.dev, frames, missedAt: missed, message: `${netText(vid)}: ${frames} frame(s) on ${up.dev} reached none of ${missed.join(', ')}` });
      } else if (want.some(missedBroadcast)) {
        const missed = uniq(want.filter(missedBroadcast));
        flags.push({ vid, uplink: up.dev, frames, missedAt: missed, message: `${netText(vid)}: broadcast frames on ${up.dev} (${sent.size}) did not all reach ${missed.join(', ')}, which should get every one` });
      }
    }
  }
  return flags;
};

export const listenTraffic = async (t: Topology, ctx: Context, o: ListenOptions): Promise<ListenReport> => {
  const { runner } = ctx;
  const started = Date.now();
  const pre = await prepare(t, ctx, o);
  try {
    const { paths } = derivePaths(t, pre.state, pre.vifs, o.networks, true);
    const caps = await captureHops(runner, paths, pre.dir, { maxSeconds: o.seconds + 60 });
    try {
      await o.onListening?.();
      await sleep(o.seconds * 1000);
    } finally {
      await stopCaptures(caps);
    }
    // A hop on several paths keeps the role it has on the first (eth0 is dom0's own on the untagged one).
    const roles = new Map(paths.flatMap((p) => p.hops.map((h) => [h.dev, h] as const)).reverse());
    const heard: Heard = new Map();
    const hops: ListenHop[] = caps.map((c) => {
      const got = readCapture(c);
      const h = roles.get(c.dev);
      const base = { dev: c.dev, role: h?.role ?? 'bridge-port', master: h?.master };
      if (typeof got === 'string') return { ...base, error: got, frames: {}, broadcasts: {} };
      heardOf(c.dev, got, heard);
      return { ...base, frames: tally(got), broadcasts: tally(got, (f) => f.dst === BROADCAST) };
    });
    const sel = o.networks ?? [];
    const inFile = (vid: number | null): boolean => vid === null || t.bridges.some((b) => b.vlans.some((v) => v.id === vid));
    const flags = flagsOf(paths, hops, heard, (vid) => sel.length > 0 && inFile(vid) && !sel.includes(vid ?? 'untagged'));
    return { ok: flags.length === 0, seconds: o.seconds, elapsedMs: Date.now() - started, pcapDir: pre.keep ? pre.dir : undefined, hops, flags, vifs: pre.vifs };
  } finally {
    finish(pre);
  }
};
