/**
 * A change applied with --confirm: applied now, but kept only if `xenbridge confirm` comes before its
 * deadline. Until then its steps live here, not in the history, so what `stop` undoes never
 * includes a change that a timer may still revert.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { XbError } from '../errors.js';
import type { Context } from '../context.js';
import type { Step } from '../plan/steps.js';
import { readHistory, readJournal } from './execute.js';
import { alive } from './lock.js';
import { dueIn, msLeft, type Due } from './clock.js';
import { stepCheck, withV1Steps } from './records.js';
import { ShapeError, bool, int, list, object, oneOf, optional, str, type Check } from './shape.js';
import { readRecord, removeFile, writeRecord, type RecordKind } from './store.js';
import { startRevertTimer, timerRuns, type TimerInfo } from './timer.js';

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
  /** The journal id of the run that applied it, once applied. */
  committed?: string;
  /** The deadline on this boot's clock, which no clock step moves. */
  due?: Due;
}

const timerCheck: Check<TimerInfo> = (v, at) => {
  const kind = object({ kind: oneOf('systemd', 'process') })(v, at).kind;
  if (kind === 'systemd') return { kind, unit: object({ unit: str })(v, at).unit };
  const { pid, since } = object({ pid: int, since: optional(str) })(v, at);
  if (pid === 0) throw new ShapeError(`${at}.pid should be a process id`);
  return { kind, pid, ...(since === undefined ? {} : { since }) };
};

const PENDING: RecordKind<Pending> = {
  what: 'change waiting for confirmation',
  since: 2,
  migrate: (v) => withV1Steps(v),
  check: object({
    id: str, pid: int, started: str, seconds: int, deadline: str, source: str, applied: bool, steps: list(stepCheck), timer: optional(timerCheck), committed: optional(str),
    due: optional(object({ boot: str, ms: int })),
  }),
  fix: 'neither confirm nor the revert timer can act on it: compare "xenbridge show" with the file, put the network right by hand, then delete the file',
};

export interface PendingStatus {
  id: string;
  started: string;
  deadline: string;
  secondsLeft: number;
  changes: number;
  source: string;
  applied: boolean;
  timer?: TimerInfo & { running?: boolean };
  /** No revert timer was recorded and the apply that made it is gone: nothing reverts it. */
  orphan?: boolean;
}

export const pendingFile = (dir: string): string => join(dir, 'pending.json');
/** A change a confirm already moved into the history (a crash kept its record) is no longer pending. */
export const readPending = (dir: string): Pending | undefined => {
  const p = readRecord(pendingFile(dir), PENDING);
  return p && readHistory(dir)?.committed === `confirm:${p.id}` ? undefined : p;
};

/**
 * The pending change, for a caller holding the lock: a record that stands for nothing goes. One a
 * confirm moved into the history is hidden only while the history is marked with that confirm (the
 * next apply marks it with its own); one whose apply died before its first step (no journal of its
 * pid: the journal is written before any step runs) reverts nothing.
 */
export const settlePending = (dir: string): Pending | undefined => {
  const p = readRecord(pendingFile(dir), PENDING);
  if (!p) return undefined;
  const confirmed = readHistory(dir)?.committed === `confirm:${p.id}`;
  if (!confirmed && (p.applied || readJournal(dir)?.pid === p.pid)) return p;
  dropPending(dir);
  return undefined;
};

export const secondsLeft = (p: Pending, now = Date.now()): number => Math.max(0, Math.ceil(msLeft(p, now) / 1000));

export const pendingStatus = (dir: string): PendingStatus | undefined => {
  const p = readPending(dir);
  if (!p) return undefined;
  const timer = p.timer?.kind === 'process' ? { ...p.timer, running: timerRuns(p.timer) } : p.timer;
  // No timer recorded and its apply gone: the apply died before its timer was recorded.
  const orphan = timer === undefined && !alive(p.pid);
  return { id: p.id, started: p.started, deadline: p.deadline, secondsLeft: secondsLeft(p), changes: p.steps.length, source: p.source, applied: p.applied, timer, ...(orphan ? { orphan } : {}) };
};

/** A second change on top of an unconfirmed one would make "revert" ambiguous. */
export const refuseWhilePending = (dir: string): void => {
  const p = settlePending(dir);
  if (!p) return;
  const what = p.applied
    ? `change ${p.id} from ${p.source} is waiting for confirmation (${secondsLeft(p)} s left)`
    : `change ${p.id} from ${p.source} was interrupted while being applied; its timer reverts it at ${p.deadline}`;
  throw new XbError('state', `${what}; nothing was changed`, {
    detail: [p.applied ? 'run "xenbridge confirm" to keep it or "xenbridge rollback" to revert it, then apply again' : 'run "xenbridge rollback" to revert it now, then apply again'],
  });
};

const deadlineIn = (seconds: number, now: number): string => new Date(now + seconds * 1000).toISOString();

/** Records the change and starts its timer before any step runs: no moment exists without a revert. */
export const beginPending = async (ctx: Context, steps: Step[], seconds: number, source: string): Promise<Pending> => {
  const dir = ctx.runDir;
  const p: Pending = {
    id: randomBytes(4).toString('hex'), pid: process.pid, started: new Date(ctx.now()).toISOString(), seconds, deadline: deadlineIn(seconds, ctx.now()), due: dueIn(seconds), source, applied: false, steps,
  };
  writeRecord(pendingFile(dir), p);
  try {
    p.timer = await startRevertTimer(ctx, p.id);
  } catch (e) {
    removeFile(pendingFile(dir));
    throw e;
  }
  writeRecord(pendingFile(dir), p);
  return p;
};

/** The admin's time to confirm starts once the change is in place, however long applying took. */
export const markApplied = (dir: string, p: Pending, committed: string, now: number): Pending => {
  const done = { ...p, applied: true, deadline: deadlineIn(p.seconds, now), due: dueIn(p.seconds), committed };
  writeRecord(pendingFile(dir), done);
  return done;
};

export const dropPending = (dir: string): void => removeFile(pendingFile(dir));

