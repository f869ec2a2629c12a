/**
 * The guests' half of a traffic verify: probe ports added, waited for until their bridges forward
 * through them, the probe round run with them, and removed again (probe-ports.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isXbError } from '../../errors.js';
import type { Context } from '../../context.js';
import type { Runner } from '../../exec/runner.js';
import { readState } from '../../state/read.js';
import type { HostState } from '../../state/types.js';
import { guestPlan, type GuestInput, type GuestPlan } from './guests.js';
import { probeNames, withProbePorts } from './probe-ports.js';
import type { PathSpec, SkippedPath } from './types.js';

export interface GuestRound<T> {
  result: T;
  plan?: GuestPlan;
  skipped: SkippedPath[];
  notes: string[];
}

/** A new port forwards once linkwatch has seen its carrier (and, with STP, after the forward delay). */
const waitForwarding = async (runner: Runner, ports: string[], maxMs: number): Promise<HostState | undefined> => {
  const start = Date.now();
  let s: HostState | undefined;
  while (Date.now() - start < maxMs) {
    s = await readState(runner, { bridgeVlans: true });
    const state = s;
    if (ports.every((p) => state.links.find((l) => l.name === p)?.portState === 'forwarding')) return s;
    await sleep(100);
  }
  return s;
};

/** Forward delay of the probed bridges with STP on, in ms (the ports wait that long twice). */
const stpWaitMs = (s: HostState, bridges: string[]): number =>
  Math.max(0, ...bridges.map((b) => {
    const l = s.links.find((x) => x.name === b);
    return l?.bridge?.stp ? l.bridge.forwardDelay * 10 * 2 : 0;
  }));

/** What the guest plan needs, but the names (each run makes its own). */
export type GuestInputs = Omit<GuestInput, 'names'>;

/** Errors that cost the guests' paths but not dom0's: the journal's directory unwritable, the lock held, a port refused. */
const noPortsBecause = (e: unknown): string[] | undefined => {
  if (isXbError(e)) return ['state', 'rolled-back', 'lock'].includes(e.kind) ? [e.message, ...e.detail] : undefined;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code && ['ENOSPC', 'EROFS', 'EACCES', 'EPERM', 'EDQUOT'].includes(code)) {
    return [`cannot record the probe ports' journal: ${(e as Error).message.split('\n')[0]}`];
  }
  return undefined;
};

/**
 * Runs `round` with the guest paths that could be set up (none when the probe ports could not be
 * added: then why is in skipped/notes, and the round still runs for dom0's paths).
 */
export const withGuests = async <T>(ctx: Context, g: GuestInputs, round: (paths: PathSpec[], inside?: Runner) => Promise<T>): Promise<GuestRound<T>> => {
  const plan = guestPlan({ ...g, names: probeNames });
  const skipped = [...plan.skipped];
  const ns = plan.paths[0]?.guest?.ns;
  if (plan.paths.length === 0 || ns === undefined) return { result: await round([]), plan, skipped, notes: [] };
  try {
    return await withProbePorts(ctx, ns, plan.ports, plan.tagged, async (c) => {
      const usable = plan.paths.filter((p) => c.present.has(p.origin));
      for (const p of plan.paths.filter((x) => !c.present.has(x.origin))) {
        skipped.push({ id: p.id, reason: `the probe's VLAN device ${p.origin} could not be made (does this kernel have 802.1Q?)` });
      }
      await waitForwarding(ctx.runner, plan.ports.map((p) => p.port), 3_000 + stpWaitMs(g.s, plan.ports.map((p) => p.bridge)));
      return { result: await round(usable, c.probe.runner), plan, skipped, notes: c.notes };
    }, plan.inside6);
  } catch (e) {
    const why = noPortsBecause(e);
    if (why === undefined) throw e;
    for (const p of plan.paths) skipped.push({ id: p.id, reason: `no probe port: ${why[0]}` });
    return { result: await round([]), plan, skipped, notes: why };
  }
};
