/** Ending a pending change: keep it (confirm), revert it now (rollback) or at its deadline (the timer). */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from '../context.js';
import { isXbError, XbError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import type { Step } from '../plan/steps.js';
import { opText } from '../plan/render.js';
import { recoverLocked, type StopResult } from './apply.js';
import { appendHistory, commitRun, readHistory, readJournal, undoJournaled } from '../txn/execute.js';
import { withTxn } from '../txn/txn.js';
import { dropPending, readPending, settlePending, type Pending } from '../txn/pending.js';
import { stepsToUndo } from '../txn/recover.js';
import { finishRun, isCommitted } from '../txn/stop.js';
import { msLeft } from '../txn/clock.js';

export interface Reverted {
  id: string;
  steps: Step[];
  errors: string[];
}

/**
 * Undoes exactly the pending change, the way a failed apply is undone. If the applying process died
 * before the change was complete, its journal (same pid) says which steps ran.
 */
const revertPendingLocked = async (runner: Runner, dir: string, p: Pending): Promise<Reverted> => {
  let j = readJournal(dir);
  if (j?.kind) {
    // An interrupted undo (this revert, killed halfway, or another) is finished, never run again.
    await finishRun(runner, dir, j);
    if (settlePending(dir)?.id !== p.id) return { id: p.id, steps: [], errors: [] };
    j = readJournal(dir);
  }
  if (j !== undefined && (j.pid !== p.pid || j.kind !== undefined)) {
    // A later run's (a vif event's, a verify's probe ports) is ended first, as a stop would, and
    // its journal is not overwritten by this revert's.
    await recoverLocked(runner, dir);
    j = readJournal(dir);
  }
  const mine = j !== undefined && j.pid === p.pid && j.kind === undefined ? j : undefined;
  const steps = p.applied ? p.steps : mine ? (await stepsToUndo(mine, runner)).steps : [];
  const errors = await undoJournaled(runner, dir, steps, `revert of change ${p.id}`, () => {
    dropPending(dir);
    if (mine && steps.length === 0) commitRun(dir, mine);
  }, p.id);
  return { id: p.id, steps, errors };
};

export const confirmChange = async (ctx: Context): Promise<Pending> => {
  const dir = ctx.runDir;
  return withTxn(dir, async () => {
    const j = readJournal(dir);
    const was = settlePending(dir);
    // An interrupted revert of it is finished first: what it undid cannot be kept.
    if (j?.kind && was) await finishRun(ctx.runner, dir, j);
    const p = settlePending(dir);
    if (!p && was && j?.kind) throw new XbError('state', `nothing to confirm: the revert of change ${was.id} was interrupted, and has now been finished`, { detail: ['"xenbridge status" shows what is applied; apply the file again to have the change back'] });
    if (!p) throw new XbError('state', 'nothing to confirm: no change is waiting for confirmation', { detail: ['"xenbridge status" shows what is applied'] });
    if (!p.applied) {
      throw new XbError('state', `change ${p.id} was interrupted while being applied and cannot be kept`, {
        detail: [`run "xenbridge rollback" to revert it now (its timer does at ${p.deadline})`],
      });
    }
    // The apply's journal, left when its removal failed, is known as committed only by the marks
    // this confirm replaces: it goes first, or the next run would undo the kept change.
    if (j && !j.kind && isCommitted(dir, j)) commitRun(dir, j);
    // Marked, so that a crash before the pending record goes cannot count the change twice.
    if (readHistory(dir)?.committed !== `confirm:${p.id}`) appendHistory(dir, p.steps, `confirm:${p.id}`);
    dropPending(dir);
    return p;
  }, { lockMs: ctx.lockTimeoutMs });
};

export interface RollbackResult extends StopResult {
  pending?: Reverted;
  /** The interrupted run whose journal was undone, and how many of its steps. */
  interrupted?: { what: string; pid: number; undone: number };
}

/** `xenbridge rollback`: the pending change, then whatever an interrupted run left. */
export const rollbackNow = async (ctx: Context): Promise<RollbackResult> => {
  const { runner, runDir: dir } = ctx;
  return withTxn(dir, async () => {
    const p = settlePending(dir);
    const pending = p ? await revertPendingLocked(runner, dir, p) : undefined;
    const j = await recoverLocked(runner, dir);
    const interrupted = j.found ? { what: j.found.what, pid: j.found.pid, undone: j.undone } : undefined;
    return { pending, interrupted, undone: (pending?.steps.length ?? 0) + j.undone, errors: [...(pending?.errors ?? []), ...j.errors] };
  }, { lockMs: ctx.lockTimeoutMs });
};

/**
 * Waits out the lock however long an apply holds it, and a run directory that cannot be written
 * (full, read-only) however long it stays so: giving up would leave the change in place for good.
 */
const withLockPatiently = async <T>(ctx: Context, fn: () => Promise<T>, log: (line: string) => void): Promise<T> => {
  for (let wait = 1000, said = ''; ; wait = Math.min(wait * 2, 10_000)) {
    try {
      return await withTxn(ctx.runDir, fn, { lockMs: ctx.lockTimeoutMs });
    } catch (e) {
      if (!isXbError(e) || (e.kind !== 'lock' && e.kind !== 'state')) throw e;
      // A lock timeout of 0 (XENBRIDGE_LOCK_TIMEOUT, inherited) gives up at once: no tight loop.
      if (e.kind === 'lock') {
        await sleep(100);
        continue;
      }
      if (e.message !== said) log(`cannot revert yet, trying again: ${(said = e.message)}`);
      await sleep(wait);
    }
  }
};

/**
 * The timer: re-reads the pending record at least every second (a confirm or rollback ends it
 * early), and at the deadline reverts the change under the lock.
 */
export const revertWhenDue = async (ctx: Context, id: string, log: (line: string) => void): Promise<Reverted | undefined> => {
  const { runner, runDir: dir } = ctx;
  for (let first = true, said = ''; ; first = false) {
    let p: Pending | undefined;
    try {
      p = readPending(dir);
    } catch (e) {
      // A record that cannot be read now (a run directory being repaired) may be readable later.
      if (!isXbError(e) || e.kind !== 'state') throw e;
      if (e.message !== said) log(`cannot read the pending change, trying again: ${(said = e.message)}`);
      await sleep(1000);
      continue;
    }
    if (!p || p.id !== id) {
      log(`change ${id} was confirmed or rolled back; nothing to do`);
      return undefined;
    }
    if (first) log(`change ${id} from ${p.source}: reverting at ${p.deadline} unless confirmed`);
    const left = msLeft(p, ctx.now());
    if (left > 0) {
      await sleep(Math.min(left, 1000));
      continue;
    }
    const r = await withLockPatiently(ctx, async () => {
      const now = settlePending(dir);
      if (!now || now.id !== id || msLeft(now, ctx.now()) > 0) return undefined;
      return revertPendingLocked(runner, dir, now);
    }, log);
    if (!r) continue;
    log(`no confirm by ${p.deadline}: reverted change ${id} (${r.steps.length} step(s))${r.errors.length > 0 ? ' WITH ERRORS' : ''}`);
    for (const s of [...r.steps].reverse()) for (const u of s.undo) log(`  ${opText(u)}`);
    for (const e of r.errors) log(`  error: ${e}`);
    return r;
  }
};
