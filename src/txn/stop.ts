/**
 * stop: undo everything since the first apply, as one journaled run of its own. Its journal holds
 * the undo lines it runs; an interrupted stop is finished (its remaining lines run), never started
 * again from the top: lines it already ran would hit links it had since restored (a delete of the
 * dom0 veth named like the NIC, run again after the NIC got its name back, deletes the NIC).
 */
import type { Runner } from '../exec/runner.js';
import type { Step } from '../plan/steps.js';
import { endUndoRun, execute, readHistory, readJournal, undoLines, type Journal } from './execute.js';
import { allOnDemand, clearOnDemand, onDemandCommitted } from './on-demand.js';
import { dropPending, readPending } from './pending.js';
import { historyFile } from './records.js';
import { describeInterrupted, stepsToFinish, stepsToUndo, type Settled } from './recover.js';
import { removeFile } from './store.js';
import { committedFilesId } from './commit-files.js';

export interface StopResult {
  undone: number;
  errors: string[];
  /** The interrupted run found first, and how far it had got. */
  found?: Journal;
  settled?: Settled;
}

/** A journal whose outcome was recorded before the crash: the run is over, only its journal is left. */
export const isCommitted = (dir: string, j: Journal): boolean => {
  if (j.id === undefined) return false;
  return readHistory(dir)?.committed === j.id || readPending(dir)?.committed === j.id || onDemandCommitted(dir) === j.id || committedFilesId(dir) === j.id;
};

const commitStop = (dir: string): void => {
  removeFile(historyFile(dir));
  dropPending(dir);
  clearOnDemand(dir);
};

/** Finishes an interrupted undo-only run (stop, undo): its remaining lines run, then it commits. */
export const finishRun = async (runner: Runner, dir: string, j: Journal): Promise<StopResult> => {
  const { steps, settled } = await stepsToFinish(j, runner);
  const r = await execute(runner, dir, steps, j.what, { kind: j.kind, ends: j.ends });
  endUndoRun(dir, () => {
    if (j.kind === 'stop') commitStop(dir);
    else if (j.ends !== undefined && readPending(dir)?.id === j.ends) dropPending(dir);
  });
  return { undone: settled.done + steps.length, errors: r.errors, found: j, settled };
};

/**
 * What stop undoes, oldest first: the history, an applied change waiting for confirm (a confirm that
 * already moved it into the history is not counted twice), the run a crash interrupted, and the
 * VLAN bridges made on demand (they sit on links the others made, so they are undone first).
 */
const toUndo = async (runner: Runner, dir: string, j: Journal | undefined): Promise<{ steps: Step[]; settled?: Settled }> => {
  const h = readHistory(dir);
  const p = readPending(dir);
  const pending = p?.applied && h?.committed !== `confirm:${p.id}` ? p.steps : [];
  const interrupted = j && !isCommitted(dir, j) ? await stepsToUndo(j, runner) : undefined;
  return { steps: [...(h?.steps ?? []), ...pending, ...(interrupted?.steps ?? []), ...allOnDemand(dir)], settled: interrupted?.settled };
};

/** The caller holds the lock. */
export const stopLocked = async (runner: Runner, dir: string): Promise<StopResult> => {
  let j = readJournal(dir);
  if (j?.kind === 'stop') return finishRun(runner, dir, j);
  // An interrupted rollback or revert is finished first; what it leaves, stop undoes.
  if (j?.kind) {
    await finishRun(runner, dir, j);
    j = undefined;
  }
  const { steps, settled } = await toUndo(runner, dir, j);
  if (steps.length === 0) {
    commitStop(dir);
    if (j) endUndoRun(dir);
    return { undone: 0, errors: [] };
  }
  const r = await execute(runner, dir, undoLines(steps), 'stop', { kind: 'stop' });
  endUndoRun(dir, () => commitStop(dir));
  return { undone: steps.length, errors: r.errors, ...(j && settled ? { found: j, settled } : {}) };
};

export const describeFound = (r: StopResult): string | undefined => (r.found && r.settled ? describeInterrupted(r.found, r.settled) : undefined);
