/**
 * `xenbridge verify --traffic`: read the state, derive each path's hops, capture on every hop at
 * once, probe every path at once, stop, read the captures, find where frames vanish and why.
 * Bounded by design: one capture start, one probe round of `waitSeconds`, a short quiet period.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGuards, type LiveGuard } from '../../state/guards.js';
import { XbError } from '../../errors.js';
import type { Context } from '../../context.js';
import { makeDirs } from '../../exec/dirs.js';
import type { Runner } from '../../exec/runner.js';
import { xenstoreOf } from '../../state/xenstore.js';
import type { BridgeSpec, Topology } from '../../model/topology.js';
import { readState } from '../../state/read.js';
import type { HostState } from '../../state/types.js';
import { PROBE_FILTER, readCapture, startCaptures, stopCaptures, type Capture, type CaptureOptions } from './capture.js';
import { findFailures, hopResults, type Captured } from './observe.js';
import { withGuests } from './guest-run.js';
import { layoutFindings, type LayoutFinding } from './layout-findings.js';
import { derivePaths, type NetworkSel } from './paths.js';
import { derivePaths6 } from './paths6.js';
import { sendProbes } from './probe.js';
import { diagnose, type RuleInput } from './rules.js';
import type { PathResult, PathSpec, ProbeRun, SkippedPath, VifExpectation } from './types.js';
import { pickTarget, upstreamTarget, type Target, type WireSample } from './targets.js';
import { vifExpectations, type VifRequest } from './vifs.js';
import { readNeighbours } from './wire.js';

export interface TrafficOptions {
  /** Networks to probe (VLAN IDs, or "untagged"); all with a probe address when empty. */
  networks?: NetworkSel[];
  /** vif ports that must get each network's broadcast, as xenstore (or the given bridge=) says. */
  vifs?: VifRequest[];
  /** Keep the captures here (one <interface>.pcap each); otherwise they are deleted. */
  pcapDir?: string;
  /** How long each probe waits for its answer. */
  waitSeconds?: number;
  /** Where xenstore-* run (the host, not the network namespace). */
  xenstore?: Runner;
  /** Probe every bridge and VLAN a guest could use, from probe ports standing in for guests. */
  guests?: boolean;
  /** What a short listen on the uplinks heard (VLANs to probe, addresses that answer). */
  wire?: WireSample[];
}

export interface TrafficReport {
  ok: boolean;
  elapsedMs: number;
  pcapDir?: string;
  paths: PathResult[];
  skipped: SkippedPath[];
  vifs: VifExpectation[];
  /** Layouts that lose frames whatever the probes saw; an error fails the verify. */
  findings: LayoutFinding[];
  /** Per guest path: what it probed and why that address. */
  targets: { id: string; address: string; answers: Target['answers']; from: string }[];
  notes: string[];
}

type GuardDrops = NonNullable<RuleInput['guardDrops']>;

const delta = (now: Record<string, number>, was: Record<string, number> | undefined): Record<string, number> =>
  Object.fromEntries(Object.entries(now).map(([why, n]) => [why, n - (was?.[why] ?? 0)]));

/** Frames each guard dropped between two reads of its counters, from the guest and toward it. */
export const guardDropsBetween = (a: Map<string, LiveGuard>, b: Map<string, LiveGuard>): GuardDrops =>
  Object.fromEntries([...b].map(([dev, g]) => [dev, { in: delta(g.dropsIn, a.get(dev)?.dropsIn), out: delta(g.dropsOut, a.get(dev)?.dropsOut) }]));

export interface Prepared {
  state: HostState;
  vifs: VifExpectation[];
  dir: string;
  keep: boolean;
}

/** The state, the vifs' expectations and a capture directory: what probing and listening share. */
export const prepare = async (t: Topology, ctx: Context, o: { vifs?: VifRequest[]; pcapDir?: string; xenstore?: Runner }): Promise<Prepared> => {
  if (o.pcapDir !== undefined) {
    if (o.pcapDir === '') throw new XbError('usage', '--pcap-dir is empty: give a directory for the captures');
    makeDirs(o.pcapDir, 0o755, 'usage');
  }
  const state = await readState(ctx.runner, { bridgeVlans: true, kernel: ctx.kernel });
  const vifs = await vifExpectations(t, state, o.vifs ?? [], { ...xenstoreOf(ctx), ...(o.xenstore ? { runner: o.xenstore } : {}) });
  const dir = o.pcapDir ?? mkdtempSync(join(tmpdir(), 'xenbridge-traffic-'));
  return { state, vifs, dir, keep: o.pcapDir !== undefined };
};

export const finish = (p: Prepared): void => {
  if (!p.keep) rmSync(p.dir, { recursive: true, force: true });
};

/** Starts the captures; fails as a whole when tcpdump itself is missing rather than blaming every hop. */
export const captureHops = async (runner: Runner, paths: PathSpec[], dir: string, o: CaptureOptions): Promise<Capture[]> => {
  const caps = await startCaptures(runner, paths.flatMap((p) => p.hops.map((h) => h.dev)), dir, o);
  const missing = caps.find((c) => c.error?.includes('not installed'));
  if (missing && caps.every((c) => c.error)) {
    throw new XbError('command', missing.error ?? 'tcpdump is not installed', { detail: ['install tcpdump (Debian: apt-get install tcpdump)'] });
  }
  return caps;
};

const evaluate = (p: PathSpec, captured: Captured, nonce: Buffer, probes: ProbeRun[], pre: Prepared, guardDrops?: GuardDrops): PathResult => {
  const hops = hopResults(p, captured, nonce);
  const failures = findFailures(p, hops);
  const diagnoses = failures.length === 0 ? [] : diagnose({ path: p, hops, probes, state: pre.state, vifs: pre.vifs, guardDrops }, failures);
  return { spec: p, ok: failures.length === 0, hops, vanished: failures[0], failures, probes, diagnoses };
};

/** VIDs a guest could use beyond the file's: those given with --vlan and those heard on each bridge's uplink. */
const extraVids = (t: Topology, sel: NetworkSel[], wire: WireSample[]): Map<string, number[]> =>
  new Map(t.bridges.map((b) => [b.name, [
    ...sel.filter((x): x is number => typeof x === 'number'),
    ...(wire.find((w) => w.dev === b.uplinkPort)?.vids ?? []),
  ]]));

export const verifyTraffic = async (t: Topology, ctx: Context, o: TrafficOptions = {}): Promise<TrafficReport> => {
  const { runner } = ctx;
  const started = Date.now();
  const pre = await prepare(t, ctx, o);
  try {
    const wire = o.wire ?? [];
    const neigh = await readNeighbours(runner);
    const four = derivePaths(t, pre.state, pre.vifs, o.networks, false, upstreamTarget(pre.state, neigh, wire));
    const six = derivePaths6(t, pre.state, pre.vifs, o.networks ?? [], four.paths.length);
    const paths = [...four.paths, ...six.paths];
    const skipped = [...four.skipped, ...six.skipped];
    const findings = layoutFindings(t, pre.state);
    const nonce = randomBytes(6);
    const round = async (guestPaths: PathSpec[], inside?: Runner): Promise<PathResult[]> => {
      const all = [...paths, ...guestPaths];
      const before = await readGuards(runner);
      const caps = await captureHops(runner, all, pre.dir, { filter: PROBE_FILTER });
      let probes: ProbeRun[][];
      try {
        probes = await Promise.all(all.map((p) => sendProbes(p.guest && inside ? inside : runner, p, nonce, o.waitSeconds ?? 1)));
      } finally {
        await stopCaptures(caps);
      }
      const captured: Captured = new Map(caps.map((c) => [c.dev, readCapture(c)]));
      // Carrier, operstate and bridge port states reach userspace through linkwatch up to a second
      // late: the rules judge the state as it is after the probes, not as it was read before them.
      const after = { ...pre, state: await readState(runner, { bridgeVlans: true }) };
      const drops = guardDropsBetween(before, await readGuards(runner));
      return all.map((p, i) => evaluate(p, captured, nonce, probes[i] ?? [], after, drops));
    };
    const targetOf = (b: BridgeSpec, vid: number | null): Target => pickTarget(pre.state, neigh, wire, b, vid);
    const target6Of = (b: BridgeSpec, vid: number | null): string | undefined => six.paths.find((p) => p.bridge === b.name && p.vid === vid)?.target;
    const g = o.guests
      ? await withGuests(ctx, { t, s: pre.state, extra: extraVids(t, o.networks ?? [], wire), sel: o.networks ?? [], targetOf, target6Of, firstIndex: paths.length }, round)
      : { result: await round([]), plan: undefined, skipped: [], notes: [] };
    const results = g.result;
    const targets = [...(g.plan?.targets ?? [])].filter(([id]) => results.some((r) => r.spec.id === id)).map(([id, x]) => ({ id, ...x }));
    return {
      ok: results.every((r) => r.ok) && !findings.some((f) => f.level === 'error'), elapsedMs: Date.now() - started,
      pcapDir: pre.keep ? pre.dir : undefined, paths: results, skipped: [...skipped, ...g.skipped], vifs: pre.vifs, findings, targets, notes: g.notes,
    };
  } finally {
    finish(pre);
  }
};
