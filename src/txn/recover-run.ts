/** Ending whatever run a crash interrupted, before the next run starts. */
import { XbError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import { commitRun, readJournal, undoJournaled, type Journal } from './execute.js';
import { describeInterrupted, stepsToUndo, type Settled } from './recover.js';
import { finishRun, isCommitted, type StopResult } from './stop.js';
import { finishCommitFiles } from './commit-files.js';

/**
 * Ends an interrupted run (the caller holds the lock): a stop is finished, a run already committed
 * loses its journal, anything else is undone as far as its journal and batch record say it got.
 */
export const recoverLocked = async (runner: Runner, dir: string, opts: { onlyVif?: boolean } = {}): Promise<StopResult & { found?: Journal; settled?: Settled }> => {
  const j = readJournal(dir);
  if (!j) return { undone: 0, errors: [] };
  // A vif event's run, or a verify's probe ports (which hold nothing but themselves), may be undone by anyone.
  const anyones = /^(rollback of )?(vif |verify )/.test(j.what);
  if (opts.onlyVif && !anyones && !isCommitted(dir, j)) {
    throw new XbError('state', `an interrupted ${j.what} (pid ${j.pid}, ${j.started}) must be ended first; nothing was changed`, {
      detail: ['run "xenbridge rollback" to undo it or "xenbridge apply" to undo it and apply again'],
    });
  }
  if (j.kind) return finishRun(runner, dir, j);
  if (isCommitted(dir, j)) {
    finishCommitFiles(dir, j.id);
    commitRun(dir, j);
    return { undone: 0, errors: [] };
  }
  const { steps, settled } = await stepsToUndo(j, runner);
  const errors = await undoJournaled(runner, dir, steps, `rollback of ${j.what}`, () => {
    if (steps.length === 0) commitRun(dir, j);
  });
  return { undone: steps.length, errors, found: j, settled };
};

/** The vif hook ends an interrupted vif event (undoing it) before its own; any other run is the admin's to end. */
export const recoverVifLocked = async (runner: Runner, dir: string): Promise<string | undefined> => {
  const r = await recoverLocked(runner, dir, { onlyVif: true });
  return r.found && r.settled ? `undid an interrupted ${describeInterrupted(r.found, r.settled)}` : undefined;
};
