/** Transactions: apply a topology, stop (undo everything since the first apply), roll back a crashed run. */
import { XbError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import type { Topology } from '../model/topology.js';
import { makePlan, type Plan } from '../plan/diff.js';
import { readStateFor } from '../state/read.js';
import { appendHistory, clearRecords, execute, historyFile, journalFile, undo, type History, type Journal } from './execute.js';
import { withLock } from './lock.js';
import { allOnDemand, clearOnDemand } from './on-demand.js';
import { repairGuards } from './guard-repair.js';
import { beginPending, dropPending, foldPending, markApplied, pendingStatus, refuseWhilePending, type Pending, type PendingStatus } from './pending.js';
import { describeInterrupted, settle, stepsToUndo, type Settled } from './recover.js';
import { readJson, removeFile, runDir } from './store.js';

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
 * A journal left by a run that died: stop adopts the steps it ran (settled from its batch record)
 * into the history rather than undoing them first, so that on-demand VLAN bridges, which sit on
 * links those steps made, are still undone before them.
 */
const adoptStaleJournal = async (runner: Runner, dir: string): Promise<void> => {
  const j = readJson<Journal>(journalFile(dir));
  if (!j) return;
  appendHistory(dir, (await stepsToUndo(j, runner)).steps);
  removeFile(journalFile(dir));
  clearRecords(dir);
};

/**
 * Apply undoes an interrupted run before planning. Planning from the half-changed kernel would not
 * converge: a takeover killed between taking the default route off the NIC and putting it on dom0's
 * interface leaves a host whose file asks for no route, and whose route is gone.
 */
const undoStaleJournal = async (runner: Runner, dir: string): Promise<string[]> => {
  const r = await undoJournalLocked(runner, dir);
  if (!r.found || !r.settled) return [];
  return [`an earlier ${describeInterrupted(r.found, r.settled)}; what it did was undone and the file is applied afresh`, ...r.errors.map((e) => `undo: ${e}`)];
};

export const planTopology = async (t: Topology, runner: Runner): Promise<Plan> => makePlan(t, await readStateFor(t, runner));

const executeVerified = async (t: Topology, runner: Runner, dir: string, plan: Plan): Promise<void> => {
  await execute(runner, dir, plan.steps, 'apply');
  const residual = makePlan(t, await readStateFor(t, runner));
  if (residual.steps.length === 0) return;
  const errors = await undo(runner, plan.steps);
  removeFile(journalFile(dir));
  throw new XbError(errors.length > 0 ? 'rollback-failed' : 'rolled-back', `apply ran but the host does not match the file; ${errors.length > 0 ? 'the undo had errors' : 'the host was restored'}`, {
    detail: ['still different:', ...residual.steps.map((s) => `  ${s.tool} ${s.line}`), ...errors],
  });
};

export const applyTopology = async (t: Topology, runner: Runner, opts: ApplyOptions = {}): Promise<ApplyResult> => {
  const dir = runDir(runner.netns);
  return withLock(dir, async () => {
    refuseWhilePending(dir);
    const notes = await undoStaleJournal(runner, dir);
    notes.push(...(await repairGuards(runner, dir)));
    const plan = makePlan(t, await readStateFor(t, runner));
    if (plan.steps.length === 0) return { plan, changed: notes.length > 0, notes };
    const pending = opts.confirmSeconds === undefined ? undefined : await beginPending(runner, dir, plan.steps, opts.confirmSeconds, t.source);
    try {
      await executeVerified(t, runner, dir, plan);
    } catch (e) {
      if (pending) dropPending(dir);
      throw e;
    }
    if (pending) {
      const applied = markApplied(dir, pending);
      removeFile(journalFile(dir));
      return { plan, changed: true, notes, pending: applied };
    }
    appendHistory(dir, plan.steps);
    removeFile(journalFile(dir));
    return { plan, changed: true, notes };
  });
};

export interface StopResult {
  undone: number;
  errors: string[];
}

export const stopNetwork = async (runner: Runner): Promise<StopResult> => {
  const dir = runDir(runner.netns);
  return withLock(dir, async () => {
    foldPending(dir);
    await adoptStaleJournal(runner, dir);
    const steps = [...(readJson<History>(historyFile(dir))?.steps ?? []), ...allOnDemand(dir)];
    if (steps.length === 0) return { undone: 0, errors: [] };
    const errors = await undo(runner, steps);
    removeFile(historyFile(dir));
    clearOnDemand(dir);
    return { undone: steps.length, errors };
  });
};

export interface Status {
  /** done: steps known to have run (settled from the batch record); uncertain: steps that may have. */
  interrupted?: { pid: number; started: string; what: string; done: number; uncertain: number; total: number; message: string };
  applied: number;
  since?: string;
  pending?: PendingStatus;
}

export const readStatus = (netns: string | undefined): Status => {
  const dir = runDir(netns);
  const j = readJson<Journal>(journalFile(dir));
  const h = readJson<History>(historyFile(dir));
  const status: Status = { applied: h?.steps.length ?? 0, since: h?.started, pending: pendingStatus(dir) };
  if (j) {
    const s = settle(j);
    status.interrupted = { pid: j.pid, started: j.started, what: j.what, done: s.done, uncertain: s.uncertain, total: j.steps.length, message: describeInterrupted(j, s) };
  }
  return status;
};

/** Undo an interrupted run (the steps its journal and batch record say ran); the caller holds the lock. */
export const undoJournalLocked = async (runner: Runner, dir: string): Promise<StopResult & { found?: Journal; settled?: Settled }> => {
  const j = readJson<Journal>(journalFile(dir));
  if (!j) return { undone: 0, errors: [] };
  const { steps, settled } = await stepsToUndo(j, runner);
  const errors = await undo(runner, steps);
  removeFile(journalFile(dir));
  clearRecords(dir);
  return { undone: steps.length, errors, found: j, settled };
};

export const rollbackInterrupted = async (runner: Runner): Promise<StopResult> => {
  const dir = runDir(runner.netns);
  return withLock(dir, () => undoJournalLocked(runner, dir));
};
