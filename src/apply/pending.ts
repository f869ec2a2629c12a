/**
 * A change applied with --confirm: applied now, but kept only if `xenbridge confirm` comes before its
 * deadline. Until then its steps live here, not in the history, so what `stop` undoes never
 * includes a change that a timer may still revert.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { XbError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import type { Step } from '../plan/steps.js';
import { appendHistory } from './execute.js';
import { alive } from './lock.js';
import { readJson, removeFile, writeJson } from './store.js';
import { startRevertTimer, type TimerInfo } from './timer.js';

export interface Pending {
  id: string;
  /** The applying process: while `applied` is false, a journal of this pid is this change's. */
  pid: number;
  started: string;
  seconds: number;
  deadline: string;
  source: string;
  /** False until every step ran and verified: a crash before that leaves only the journal to undo. */
  applied: boolean;
  steps: Step[];
  timer?: TimerInfo;
}

export interface PendingStatus {
  id: string;
  started: string;
  deadline: string;
  secondsLeft: number;
  changes: number;
  source: string;
  applied: boolean;
  timer?: TimerInfo & { running?: boolean };
}

export const pendingFile = (dir: string): string => join(dir, 'pending.json');
export const readPending = (dir: string): Pending | undefined => readJson<Pending>(pendingFile(dir));

export const secondsLeft = (p: Pending, now = Date.now()): number => Math.max(0, Math.ceil((Date.parse(p.deadline) - now) / 1000));

export const pendingStatus = (dir: string): PendingStatus | undefined => {
  const p = readPending(dir);
  if (!p) return undefined;
  const timer = p.timer?.kind === 'process' ? { ...p.timer, running: alive(p.timer.pid) } : p.timer;
  return { id: p.id, started: p.started, deadline: p.deadline, secondsLeft: secondsLeft(p), changes: p.steps.length, source: p.source, applied: p.applied, timer };
};

/** A second change on top of an unconfirmed one would make "revert" ambiguous. */
export const refuseWhilePending = (dir: string): void => {
  const p = readPending(dir);
  if (!p) return;
  const what = p.applied
    ? `change ${p.id} from ${p.source} is waiting for confirmation (${secondsLeft(p)} s left)`
    : `change ${p.id} from ${p.source} was interrupted while being applied; its timer reverts it at ${p.deadline}`;
  throw new XbError('state', `${what}; nothing was changed`, {
    detail: [p.applied ? 'run "xenbridge confirm" to keep it or "xenbridge rollback" to revert it, then apply again' : 'run "xenbridge rollback" to revert it now, then apply again'],
  });
};

const deadlineIn = (seconds: number): string => new Date(Date.now() + seconds * 1000).toISOString();

/** Records the change and starts its timer before any step runs: no moment exists without a revert. */
export const beginPending = async (runner: Runner, dir: string, steps: Step[], seconds: number, source: string): Promise<Pending> => {
  const p: Pending = {
    id: randomBytes(4).toString('hex'), pid: process.pid, started: new Date().toISOString(), seconds, deadline: deadlineIn(seconds), source, applied: false, steps,
  };
  writeJson(pendingFile(dir), p);
  try {
    p.timer = await startRevertTimer(runner, dir, p.id);
  } catch (e) {
    removeFile(pendingFile(dir));
    throw e;
  }
  writeJson(pendingFile(dir), p);
  return p;
};

/** The admin's time to confirm starts once the change is in place, however long applying took. */
export const markApplied = (dir: string, p: Pending): Pending => {
  const done = { ...p, applied: true, deadline: deadlineIn(p.seconds) };
  writeJson(pendingFile(dir), done);
  return done;
};

export const dropPending = (dir: string): void => removeFile(pendingFile(dir));

/** stop undoes everything: an applied pending change joins the history it will be undone with. */
export const foldPending = (dir: string): void => {
  const p = readPending(dir);
  if (!p) return;
  if (p.applied) appendHistory(dir, p.steps);
  dropPending(dir);
};
