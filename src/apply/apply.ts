/** Transactions: apply a topology, stop (undo everything since the first apply), roll back a crashed run. */
import { existsSync, statSync } from 'node:fs';
import type { Context } from '../context.js';
import { isXbError, XbError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import type { Topology } from '../model/topology.js';
import { makePlan, type Plan } from '../plan/diff.js';
import { opText } from '../plan/render.js';
import { readStateFor, readVlanEntries } from '../state/read.js';
import type { HostState } from '../state/types.js';
import { appendHistory, commitRun, execute, historyFile, journalFile, keptOnHost, readHistory, readJournal, undoJournaled, type Journal } from '../txn/execute.js';
import { ALL_RECORDS, withTxn } from '../txn/txn.js';
import { allOnDemand } from '../txn/on-demand.js';
import { beginPending, dropPending, markApplied, pendingStatus, refuseWhilePending, type Pending, type PendingStatus } from '../txn/pending.js';
import { describeInterrupted, settle } from '../txn/recover.js';
import { recoverLocked } from '../txn/recover-run.js';
import { planGuardRepair, runGuardRepair } from './guard-repair.js';
import { isCommitted, stopLocked, type StopResult } from '../txn/stop.js';
import { fsError } from '../txn/store.js';
import { lockHolder } from '../txn/lock.js';

export type { StopResult } from '../txn/stop.js';
export { recoverLocked } from '../txn/recover-run.js';

export interface ApplyResult {
  plan: Plan;
  changed: boolean;
  notes: string[];
  /** Set by apply --confirm: the change a timer reverts unless confirmed. */
  pending?: Pending;
}

export interface ApplyOptions {
  /** Revert the change unless `xenbridge confirm` comes within this many seconds. */
  confirmSeconds?: number;
}

/**
 * Apply undoes an interrupted run before planning. Planning from the half-changed kernel would not
 * converge: a takeover killed between taking the default route off the NIC and putting it on dom0's
 * interface leaves a host whose file asks for no route, and whose route is gone. An interrupted
 * stop is finished instead: undoing it would re-apply what the admin asked to remove.
 */
const recoverStale = async (runner: Runner, dir: string): Promise<string[]> => {
  const r = await recoverLocked(runner, dir);
  if (!r.found || !r.settled) return [];
  const did = r.found.kind ? 'it was finished' : 'what it did was undone and the file is applied afresh';
  return [`an earlier ${describeInterrupted(r.found, r.settled)}; ${did}`, ...r.errors.map((e) => `undo: ${e}`)];
};

export const planTopology = async (t: Topology, ctx: Context): Promise<Plan> => makePlan(t, await readStateFor(t, ctx));

const fileBytes = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

const VLAN_ENTRY_OPS: ReadonlySet<string> = new Set(['addVlanEntry', 'delVlanEntry']);

/**
 * The state after a run, to check it against the file. A run of VLAN entries only changed nothing
 * else: its ports' entries are read again and the rest of the state is the one it was planned from
 * (two processes fewer, most of a small change's check under emulation).
 */
const stateAfter = async (t: Topology, ctx: Context, before: HostState, j: Journal): Promise<HostState> =>
  j.steps.every((s) => VLAN_ENTRY_OPS.has(s.op.kind)) ? { ...before, vlans: await readVlanEntries(ctx.runner) } : readStateFor(t, ctx);

const undoUnverified = async (runner: Runner, dir: string, j: Journal, what: string, detail: string[]): Promise<never> => {
  const errors = await undoJournaled(runner, dir, j.steps, 'undo of the unverified apply').catch((u: unknown) => {
    throw keptOnHost(u, 'the apply', dir, new XbError('state', what, { detail }));
  });
  throw new XbError(errors.length > 0 ? 'rollback-failed' : 'rolled-back', `${what}; ${errors.length > 0 ? 'the undo had errors' : 'the host was restored'}`, { detail: [...detail, ...errors] });
};

const executeVerified = async (t: Topology, ctx: Context, plan: Plan, before: HostState): Promise<Journal> => {
  const { runner, runDir: dir } = ctx;
  const j = await execute(runner, dir, plan.steps, 'apply', { extendsBytes: fileBytes(historyFile(dir)) });
  let residual: Plan;
  try {
    residual = makePlan(t, await stateAfter(t, ctx, before, j));
  } catch (e) {
    // Unchecked is undone as different is: left for a later run, the change would stand unverified
    // on a host it may have cut off from whoever could run one.
    return undoUnverified(runner, dir, j, 'apply ran but the host could not be read to check it', isXbError(e) ? [e.message, ...e.detail] : [String((e as Error)?.message ?? e)]);
  }
  if (residual.steps.length === 0) return j;
  return undoUnverified(runner, dir, j, 'apply ran but the host does not match the file', ['still different:', ...residual.steps.map((s) => `  ${opText(s.op)}`)]);
};

const landed = (dir: string, j: Journal): boolean => {
  try {
    return isCommitted(dir, j);
  } catch {
    return false;
  }
};

/**
 * A run that cannot record its outcome is undone, as a journaled run of its own: killed halfway, the
 * next run finishes that undo instead of undoing the whole run a second time. Once the outcome is
 * recorded the run is over: a journal that cannot be removed then is one the next run sees committed.
 */
const commitOrUndo = async (runner: Runner, dir: string, j: Journal, record: (id: string) => void, ends?: string): Promise<void> => {
  try {
    record(j.id ?? '');
  } catch (e) {
    // A record that landed after all (its writer failed late) is the outcome: undoing would leave it listing what is gone.
    if (landed(dir, j)) return commitOrUndo(runner, dir, j, () => undefined, ends);
    const err = fsError(e, 'record', dir);
    let errors: string[];
    try {
      errors = await undoJournaled(runner, dir, j.steps, 'undo of the unrecorded apply', () => {
        if (ends !== undefined) dropPending(dir);
      }, ends);
    } catch (u) {
      throw keptOnHost(u, 'the apply', dir, err);
    }
    throw new XbError(errors.length > 0 ? 'rollback-failed' : 'state', `${err.message}; the change was ${errors.length > 0 ? 'not fully undone' : 'undone'}`, { detail: [...err.detail, ...errors] });
  }
  try {
    commitRun(dir, j);
  } catch {
    // Recorded: the next run removes a committed run's journal.
  }
};

/**
 * The history is checked (not only read) before anything changes, as every other record is by
 * withTxn; a run that changes nothing leaves it alone: on a host with thousands of applied steps
 * reading it is most of what a no-change apply would do.
 */
const APPLY_RECORDS = ALL_RECORDS.filter((r) => r !== 'history');

export const applyTopology = async (t: Topology, ctx: Context, opts: ApplyOptions = {}): Promise<ApplyResult> => {
  const { runner, runDir: dir } = ctx;
  return withTxn(dir, async () => {
    refuseWhilePending(dir);
    if (readJournal(dir)) readHistory(dir);
    const notes = await recoverStale(runner, dir);
    // Guards are nft's, the plan is ip's: the state is read while the guards are checked. Both are
    // awaited before either's error is thrown, so that nothing runs on after the lock is released.
    const [guards, state] = await Promise.allSettled([planGuardRepair(runner, dir), readStateFor(t, ctx)]);
    if (guards.status === 'rejected') throw guards.reason;
    if (state.status === 'rejected') throw state.reason;
    const plan = makePlan(t, state.value);
    if (plan.steps.length === 0 && guards.value.steps.length === 0) return { plan, changed: notes.length > 0, notes };
    // Read once: the commit extends this one (nothing else writes it under the lock).
    const prior = readHistory(dir);
    notes.push(...(await runGuardRepair(runner, dir, guards.value)));
    if (plan.steps.length === 0) return { plan, changed: true, notes };
    const pending = opts.confirmSeconds === undefined ? undefined : await beginPending(ctx, plan.steps, opts.confirmSeconds, t.source);
    let j: Journal;
    try {
      j = await executeVerified(t, ctx, plan, state.value);
    } catch (e) {
      // A journal left on disk is this change's record: the timer reverts through it.
      if (pending && !existsSync(journalFile(dir))) dropPending(dir);
      throw e;
    }
    if (pending) {
      let applied: Pending | undefined;
      await commitOrUndo(runner, dir, j, (id) => { applied = markApplied(dir, { ...pending, steps: j.steps }, id, ctx.now()); }, pending.id);
      return { plan, changed: true, notes, pending: applied };
    }
    // j.steps: what ran, with any step the kernel refused as busy replaced by its alternative.
    await commitOrUndo(runner, dir, j, (id) => appendHistory(dir, j.steps, id, prior));
    return { plan, changed: true, notes };
  }, { records: APPLY_RECORDS, lockMs: ctx.lockTimeoutMs });
};

export const stopNetwork = async (ctx: Context): Promise<StopResult> =>
  withTxn(ctx.runDir, () => stopLocked(ctx.runner, ctx.runDir), { lockMs: ctx.lockTimeoutMs });

export interface Status {
  /** done: steps known to have run (settled from the batch record); uncertain: steps that may have. */
  interrupted?: { pid: number; started: string; what: string; done: number; uncertain: number; total: number; message: string };
  /** A run in progress: its journal's process holds the lock. */
  running?: { pid: number; started: string; what: string; done: number; total: number };
  applied: number;
  since?: string;
  pending?: PendingStatus;
  /** Records that cannot be read: one line each, naming the file and what to do. */
  unreadable?: string[];
}

const readable = <T>(read: () => T, problems: string[]): T | undefined => {
  try {
    return read();
  } catch (e) {
    if (!(e instanceof XbError)) throw e;
    problems.push([e.message, ...e.detail].join('; '));
    return undefined;
  }
};

export const readStatus = (ctx: Pick<Context, 'runDir'>): Status => {
  const dir = ctx.runDir;
  const problems: string[] = [];
  const j = readable(() => readJournal(dir), problems);
  const h = readable(() => readHistory(dir), problems);
  const status: Status = { applied: h?.steps.length ?? 0, since: h?.started, pending: readable(() => pendingStatus(dir), problems) };
  readable(() => allOnDemand(dir), problems);
  if (problems.length > 0) status.unreadable = problems;
  if (j && lockHolder(dir)?.pid === j.pid) {
    status.running = { pid: j.pid, started: j.started, what: j.what, done: j.done, total: j.steps.length };
  } else if (j && !readable(() => isCommitted(dir, j), problems)) {
    const s = settle(j);
    status.interrupted = { pid: j.pid, started: j.started, what: j.what, done: s.done, uncertain: s.uncertain, total: j.steps.length, message: describeInterrupted(j, s) };
  }
  return status;
};

export const rollbackInterrupted = async (ctx: Context): Promise<StopResult> =>
  withTxn(ctx.runDir, () => recoverLocked(ctx.runner, ctx.runDir), { lockMs: ctx.lockTimeoutMs });
