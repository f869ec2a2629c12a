/** Transactions: apply a topology, stop (undo everything since the first apply), roll back a crashed run. */
import { XbError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import type { Topology } from '../model/topology.js';
import { makePlan, type Plan } from '../plan/diff.js';
import { readState } from '../state/read.js';
import type { HostState } from '../state/types.js';
import { appendHistory, execute, historyFile, journalFile, possiblyDone, undo, type History, type Journal } from './execute.js';
import { withLock } from './lock.js';
import { allOnDemand, clearOnDemand } from './on-demand.js';
import { readJson, removeFile, runDir } from './store.js';

export interface ApplyResult {
  plan: Plan;
  changed: boolean;
  notes: string[];
}

const readFor = (t: Topology, runner: Runner): Promise<HostState> =>
  readState(runner, { bridgeVlans: t.bridges.some((b) => b.mode === 'filtering') });

/**
 * A journal left by a run that died: its steps may or may not have happened. Keeping them in the
 * history means `stop` still undoes them; a fresh plan starts from whatever the kernel has now.
 */
const adoptStaleJournal = (dir: string): string | undefined => {
  const j = readJson<Journal>(journalFile(dir));
  if (!j) return undefined;
  appendHistory(dir, possiblyDone(j));
  removeFile(journalFile(dir));
  return `an earlier ${j.what} (pid ${j.pid}, ${j.started}) was interrupted after ${j.done} of ${j.steps.length} steps; planning from the current state`;
};

export const planTopology = async (t: Topology, runner: Runner): Promise<Plan> => makePlan(t, await readFor(t, runner));

export const applyTopology = async (t: Topology, runner: Runner): Promise<ApplyResult> => {
  const dir = runDir(runner.netns);
  return withLock(dir, async () => {
    const notes = [adoptStaleJournal(dir)].filter((n): n is string => n !== undefined);
    const plan = makePlan(t, await readFor(t, runner));
    if (plan.steps.length === 0) return { plan, changed: false, notes };
    await execute(runner, dir, plan.steps, 'apply');
    const residual = makePlan(t, await readFor(t, runner));
    if (residual.steps.length > 0) {
      const errors = await undo(runner, plan.steps);
      removeFile(journalFile(dir));
      throw new XbError(errors.length > 0 ? 'rollback-failed' : 'rolled-back', `apply ran but the host does not match the file; ${errors.length > 0 ? 'the undo had errors' : 'the host was restored'}`, {
        detail: ['still different:', ...residual.steps.map((s) => `  ${s.tool} ${s.line}`), ...errors],
      });
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
    adoptStaleJournal(dir);
    const steps = [...(readJson<History>(historyFile(dir))?.steps ?? []), ...allOnDemand(dir)];
    if (steps.length === 0) return { undone: 0, errors: [] };
    const errors = await undo(runner, steps);
    removeFile(historyFile(dir));
    clearOnDemand(dir);
    return { undone: steps.length, errors };
  });
};

export interface Status {
  interrupted?: { pid: number; started: string; what: string; done: number; total: number; inflight?: [number, number] };
  applied: number;
  since?: string;
}

export const readStatus = (netns: string | undefined): Status => {
  const dir = runDir(netns);
  const j = readJson<Journal>(journalFile(dir));
  const h = readJson<History>(historyFile(dir));
  const status: Status = { applied: h?.steps.length ?? 0, since: h?.started };
  if (j) status.interrupted = { pid: j.pid, started: j.started, what: j.what, done: j.done, total: j.steps.length, inflight: j.inflight };
  return status;
};

/** Undo an interrupted run now (its done and in-flight steps). */
export const rollbackInterrupted = async (runner: Runner): Promise<StopResult> => {
  const dir = runDir(runner.netns);
  return withLock(dir, async () => {
    const j = readJson<Journal>(journalFile(dir));
    if (!j) return { undone: 0, errors: [] };
    const steps = possiblyDone(j);
    const errors = await undo(runner, steps);
    removeFile(journalFile(dir));
    return { undone: steps.length, errors };
  });
};
