/**
 * Many `online` events in one transaction: one lock, one state read, one nft process for every
 * guard and one ip batch for every port, under one journal, so a crash undoes the lot and the
 * events are simply run again. A vif whose steps the kernel refuses must not fail the others: the
 * joint run is undone and runs again without it (see runSplitting).
 */
import { forgetOps, saveOps } from '../apply/guard-records.js';
import { commitFiles } from '../txn/commit-files.js';
import { isXbError, XbError } from '../errors.js';
import type { Context } from '../context.js';
import type { Topology } from '../model/topology.js';
import type { VifGuard } from '../plan/guard.js';
import type { Step } from '../plan/steps.js';
import { toolOf } from '../plan/render.js';
import { readLinks } from '../state/read.js';
import { commitRun, execute } from '../txn/execute.js';
import { recoverVifLocked } from '../txn/recover-run.js';
import { HOOK_RECORDS, withTxn } from '../txn/txn.js';
import type { VifEvent } from './hotplug-env.js';
import { guardOf, planGuard } from './vif-guard.js';
import { describe, HOOK_LOCK_MS, mtuOf, targetOf, Withdrawn, type Keys } from './vif-hook.js';
import { ownLink, vifnameFor } from './vif-owner.js';
import { planOnline } from './vif-plan.js';
import { readVifRecord, writeVifRecord } from './vif-record.js';
import type { VifTarget } from '../plan/vif-target.js';

export interface BatchItem {
  ev: VifEvent;
  keys: Keys;
  /** Asked under the lock before anything changes (the hook service's): false when the hook took the event back or gave up on it. */
  begin?: () => boolean;
}

export type BatchOutcome = { ok: true; text: string; mtu?: number } | { ok: false; error: XbError };

interface Ready {
  i: number;
  ev: VifEvent;
  begin?: () => boolean;
  target: VifTarget;
  name: string;
  mtu?: number;
  guard?: VifGuard;
}

const asError = (e: unknown): XbError => (isXbError(e) ? e : new XbError('bug', `unexpected error: ${(e as Error)?.message ?? String(e)}`, { cause: e }));

/**
 * What each event asks for, from xenstore and the topology alone; an event whose keys are wrong
 * gets its error here and never reaches the kernel. Events that create a VLAN on demand are left
 * to the one-event path (their VLAN bridge is shared state of its own).
 */
export const batchable = (item: BatchItem, t: Topology): boolean => {
  if (item.ev.action !== 'online' && item.ev.action !== 'add') return false;
  try {
    return targetOf(item.keys, t).onDemand === undefined;
  } catch {
    return true;
  }
};

const prepare = (items: BatchItem[], t: Topology, out: BatchOutcome[]): Ready[] => {
  const ready: Ready[] = [];
  items.forEach(({ ev, keys, begin }, i) => {
    try {
      const target = targetOf(keys, t);
      const name = vifnameFor(ev, keys.vifname, t);
      ready.push({ i, ev, begin, target, name, mtu: mtuOf(keys), guard: guardOf(target, keys, name) });
    } catch (e) {
      out[i] = { ok: false, error: asError(e) };
    }
  });
  return ready;
};

/** Plans each vif against one read; a vif whose plan fails, or that names a device another vif of the batch uses, fails alone. */
const planAll = async (ctx: Context, ready: Ready[], out: BatchOutcome[]): Promise<{ r: Ready; first: Step[]; setup: Step[]; mtu?: number }[]> => {
  const { runner, runDir: dir } = ctx;
  const filtering = ready.filter((r) => r.target.spec.mode === 'filtering');
  const s = await readLinks(runner, {
    kernel: ctx.kernel,
    names: ready.flatMap((r) => [r.ev.dev, r.name, readVifRecord(dir, r.ev)?.name ?? r.name, r.target.bridge, r.target.spec.dom0.ifname]),
    // One bridge port's VLANs at most per read: a batch with several filtering ports reads them one by one.
    vlansOf: filtering.length === 1 ? filtering[0]?.name : undefined,
  });
  const seen = new Set<string>();
  const planned: { r: Ready; first: Step[]; setup: Step[]; mtu?: number }[] = [];
  for (const r of ready) {
    try {
      if (filtering.length > 1 && r.target.spec.mode === 'filtering') {
        const own = await readLinks(runner, { kernel: ctx.kernel, names: [r.ev.dev, r.name, r.target.bridge], vlansOf: r.name });
        s.vlans.push(...own.vlans);
      }
      const own = ownLink(r.ev, readVifRecord(dir, r.ev), s);
      for (const n of new Set([r.ev.dev, r.name, own?.name ?? r.name])) {
        if (seen.has(n)) throw new XbError('state', `${n} is also named by another vif starting at the same time`);
        seen.add(n);
      }
      const plan = planOnline({ dev: r.ev.dev, name: r.name, mtu: r.mtu, target: r.target, own, guarded: r.guard !== undefined }, s);
      if (own && own.name !== r.name) writeVifRecord(dir, r.ev, { ifindex: own.ifindex, name: r.name });
      planned.push({ r, first: plan.first, setup: plan.setup, mtu: plan.mtu });
    } catch (e) {
      out[r.i] = { ok: false, error: asError(e) };
    }
  }
  return planned;
};

/** Thrown when the kernel refused a joint run (undone): the vif whose step failed, when the failed step names one. */
class Refused extends Error {
  constructor(readonly refusal: XbError, readonly culprit: Ready | undefined) {
    super(refusal.message);
  }
}

/** One transaction for the ready vifs; throws Refused when the kernel refused any of it (and it was undone). */
const runJoint = async (ctx: Context, all: Ready[], out: BatchOutcome[], lockMs: number): Promise<void> => {
  const { runner, runDir: dir } = ctx;
  let notes = '';
  await withTxn(dir, async () => {
    // An event its hook has withdrawn must not change anything: asked first, under the lock.
    const ready = all.filter((r) => {
      if (!r.begin || r.begin()) return true;
      out[r.i] = { ok: false, error: new Withdrawn(`${r.ev.dev} ${r.ev.action}`) };
      return false;
    });
    if (ready.length === 0) return;
    const recovered = await recoverVifLocked(runner, dir);
    if (recovered) notes = `; ${recovered}`;
    const planned = await planAll(ctx, ready, out);
    // Guards first, every one in the same nft run: each matches its port by final name, so no frame passes unguarded.
    const guards = planned.map((p) => planGuard(dir, p.r.name, p.r.guard));
    const steps = [...planned.flatMap((p) => p.first), ...guards.flat(), ...planned.flatMap((p) => p.setup)];
    const owner = [...planned.flatMap((p) => p.first.map(() => p.r)), ...planned.flatMap((p, i) => (guards[i] ?? []).map(() => p.r)), ...planned.flatMap((p) => p.setup.map(() => p.r))];
    let j;
    try {
      j = await execute(runner, dir, steps, `vif ${planned.map((p) => p.r.name).join(' ')}`);
    } catch (e) {
      if (!isXbError(e) || (e.kind !== 'rolled-back' && e.kind !== 'rollback-failed')) throw e;
      // ip names the line it failed on; nft refuses its whole run, so a failed guard names no vif.
      const at = Number(/ at step (\d+) of /.exec(e.message)?.[1] ?? 0) - 1;
      throw new Refused(e, (steps[at] !== undefined && toolOf(steps[at].op) === 'nft') ? undefined : owner[at]);
    }
    commitRun(dir, j, (id) => commitFiles(dir, id, planned.flatMap((p) => (p.r.guard ? saveOps(p.r.guard) : forgetOps(p.r.name)))));
    for (const p of planned) out[p.r.i] = { ok: true, text: `${p.r.ev.action} ${describe(p.r.target, p.r.name, p.mtu, p.r.guard)}${notes}`, ...(p.mtu === undefined ? {} : { mtu: p.mtu }) };
  }, { records: HOOK_RECORDS, lockMs: Math.max(0, Math.min(ctx.lockTimeoutMs, HOOK_LOCK_MS, lockMs)) });
};

/**
 * Runs the ready vifs jointly. When the kernel refuses part of it (undone), the vif whose step
 * failed runs alone and the others jointly again; when the failure names no vif, each half again.
 * Either way only the refused vif fails.
 */
const runSplitting = async (ctx: Context, ready: Ready[], out: BatchOutcome[], lockMs: number): Promise<void> => {
  const todo = ready.filter((r) => out[r.i] === undefined);
  if (todo.length === 0) return;
  try {
    await runJoint(ctx, todo, out, lockMs);
  } catch (e) {
    if (!(e instanceof Refused) || todo.length === 1) {
      const err = asError(e instanceof Refused ? e.refusal : e);
      for (const r of todo) if (out[r.i] === undefined) out[r.i] = { ok: false, error: err };
      return;
    }
    const first = e.culprit ? [e.culprit] : todo.slice(0, Math.ceil(todo.length / 2));
    await runSplitting(ctx, first, out, lockMs);
    await runSplitting(ctx, todo.filter((r) => !first.includes(r)), out, lockMs);
  }
};

/** Attaches every item (online/add, no on-demand VLAN); one outcome per item, in order. lockMs: the longest the lock may be waited for. */
export const onlineBatch = async (ctx: Context, items: BatchItem[], t: Topology, lockMs = HOOK_LOCK_MS): Promise<BatchOutcome[]> => {
  const out: BatchOutcome[] = new Array<BatchOutcome>(items.length);
  await runSplitting(ctx, prepare(items, t, out), out, lockMs);
  return out;
};
