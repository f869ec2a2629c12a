/**
 * Runs steps as one batch process per phase (a run of consecutive steps for the same tool). The
 * journal is written and fsync'd before each batch, so no kernel change exists without a record of
 * what may have run; a run that cannot record itself is undone. On failure the done steps are
 * undone in reverse. A finished run's journal stays until its outcome is committed (commitRun).
 */
import { randomBytes } from 'node:crypto';
import { namesIn } from '../exec/files.js';
import { basename, join } from 'node:path';
import { XbError } from '../errors.js';
import type { Op } from '../plan/ops.js';
import { opText, render, toolOf } from '../plan/render.js';
import type { Step } from '../plan/steps.js';
import type { Runner, Tool } from '../exec/runner.js';
import { HISTORY, historyFile, JOURNAL, journalFile, type History, type Journal } from './records.js';
import { ensureSpace, readRecord, removeFile, writeRecord } from './store.js';
import { dropCommitFiles } from './commit-files.js';

export { historyFile, journalFile, type History, type Journal } from './records.js';

type Item = { op: Op; uncertain?: boolean };

const sameTool = (a: Item, b: Item): boolean => toolOf(a.op) === toolOf(b.op);

/** Runs of consecutive items for one tool (and, for undo-only runs, one certainty): one batch each. */
export const groups = <T extends Item>(items: T[], same: (a: T, b: T) => boolean = sameTool): { tool: Tool; from: number; items: T[] }[] => {
  const out: { tool: Tool; from: number; items: T[] }[] = [];
  items.forEach((l, i) => {
    const last = out[out.length - 1];
    const prev = last?.items[last.items.length - 1];
    if (last && prev && same(prev, l)) last.items.push(l);
    else out.push({ tool: toolOf(l.op), from: i, items: [l] });
  });
  return out;
};

const lines = (items: Item[]): string[] => items.map((i) => render(i.op).line);

/** Undo-only runs batch by certainty too: errors from lines that may already have run say nothing. */
const sameCertainty = (a: Item, b: Item): boolean => sameTool(a, b) && a.uncertain === b.uncertain;

const nonEmpty = (stderr: string): string[] => stderr.split('\n').filter((l) => l.trim() !== '');

/** Removes every batch record in dir, and records half written by a killed run: once a run has ended or been recovered they say nothing. */
export const clearRecords = (dir: string): void => {
  // A record's .tmp of another pid is a write a kill cut short: under the lock, its writer is gone.
  for (const n of namesIn(dir)) if (n.startsWith('batch-') || (n.endsWith('.tmp') && !n.endsWith(`.${process.pid}.tmp`))) removeFile(join(dir, n));
};

const firstError = (stderr: string): string =>
  stderr.split('\n').find((l) => l.trim() !== '' && !l.startsWith('Command failed')) ?? stderr.trim();

/**
 * The in-flight batch's record is found in this run directory by its name: one named relative to
 * the working directory of the run that crashed (a relative XENBRIDGE_RUN_DIR) would be looked for
 * elsewhere by a recovery run from another directory, and the batch taken for one that never ran.
 */
export const readJournal = (dir: string): Journal | undefined => {
  const j = readRecord(journalFile(dir), JOURNAL);
  return j?.batch === undefined ? j : { ...j, batch: join(dir, basename(j.batch)) };
};
export const readHistory = (dir: string): History | undefined => readRecord(historyFile(dir), HISTORY);

export const newJournal = (steps: Step[], what: string, kind?: 'stop' | 'undo'): Journal => ({
  id: randomBytes(6).toString('hex'), pid: process.pid, started: new Date().toISOString(), what, steps, done: 0, ...(kind ? { kind } : {}),
});

/** The run directory must hold the journal, every batch record and the records a commit writes. */
const checkSpace = (dir: string, j: Journal, opts: RunOptions): void => {
  // A joint run writes its lines twice (one file per batch, and the record's) and keeps each batch's output.
  const sizes = groups(j.steps).flatMap((g) => [2 * lines(g.items).reduce((n, l) => n + l.length + 1, 0), 16, 256, 256, 16]);
  const journal = JSON.stringify(j).length;
  const grown = opts.extendsBytes === undefined ? [] : [opts.extendsBytes + journal];
  ensureSpace(dir, [journal + 256, ...sizes, ...grown], j.what);
};

export interface RunOptions {
  /** stop, undo: every line is tried (-force) and the errors returned; nothing is undone. */
  kind?: 'stop' | 'undo';
  /** The size of a record the commit rewrites with this run's steps added (the history): checked before anything runs. */
  extendsBytes?: number;
  /** The pending change an undo reverts (see Journal.ends). */
  ends?: string;
}

/** Journaled run; returns its journal (on disk, done) only when every step ran. */

export interface Ran extends Journal {
  /** stop, undo: what ip said of the lines that failed. */
  errors: string[];
}

/** The end of the batch that starts at from: a run of steps for one tool (and, for a stop, one certainty). */
const batchEnd = (steps: Step[], from: number, same: (a: Step, b: Step) => boolean): number => {
  let end = from + 1;
  for (let prev = steps[from], next = steps[end]; prev !== undefined && next !== undefined && same(prev, next); prev = next, next = steps[++end]);
  return end;
};

/**
 * The batches that run as one process from `from`: an nft run (a port's guard) joins the batches
 * beside it, so guarding a port costs no process, journal write or record of its own. With a
 * resident nft (the hook service) it runs there, a batch and a record of its own.
 */
const parts = (steps: Step[], from: number, same: (a: Step, b: Step) => boolean, joinNft: boolean): { from: number; end: number }[] => {
  const out = [{ from, end: batchEnd(steps, from, same) }];
  for (let last = out[0]; last !== undefined && joinNft;) {
    const prev = steps[last.end - 1];
    const next = steps[last.end];
    if (!prev || !next || (toolOf(prev.op) !== 'nft' && toolOf(next.op) !== 'nft')) break;
    last = { from: last.end, end: batchEnd(steps, last.end, same) };
    out.push(last);
  }
  return out;
};

/** The steps with the failed one replaced by its busy alternative, when the kernel refused it as busy. */
const busyAlternative = (steps: Step[], at: number, stderr: string): Step[] | undefined => {
  const s = steps[at];
  if (!s?.busy || !/Device or resource busy/.test(firstError(stderr))) return undefined;
  return [...steps.slice(0, at), ...s.busy, ...steps.slice(at + 1)];
};

/**
 * A step refused as busy is replaced by its alternative (journal first) and the run goes on from
 * there: the returned journal's steps are what ran, and what an undo must reverse.
 */
export const execute = async (runner: Runner, dir: string, steps: Step[], what: string, opts: RunOptions = {}): Promise<Ran> => {
  const jf = journalFile(dir);
  const journal = { ...newJournal(steps, what, opts.kind), ...(opts.ends ? { ends: opts.ends } : {}) };
  const errors: string[] = [];
  if (steps.length === 0) return { ...journal, errors };
  checkSpace(dir, journal, opts);
  const same = opts.kind ? sameCertainty : sameTool;
  for (let from = 0; from < journal.steps.length;) {
    // Undo-only runs go tool by tool: their batches run with -force, which a joint run has not.
    const ps = opts.kind ? [{ from, end: batchEnd(journal.steps, from, same) }] : parts(journal.steps, from, same, !runner.residentNft);
    const part = (p: { from: number; end: number }): Step[] => journal.steps.slice(p.from, p.end);
    const items = journal.steps.slice(from, ps[ps.length - 1]?.end ?? from);
    const end = from + items.length;
    const first = items[0];
    if (first === undefined) break;
    const then = ps.slice(1).map((p) => ({ tool: toolOf(journal.steps[p.from]?.op ?? first.op), lines: lines(part(p)) }));
    journal.inflight = [from, from + items.length];
    // Named by run: the records of a run this one replaces (an undo replaces the journal of what it
    // undoes) stay what they were until this run's journal stands in that one's place.
    journal.batch = join(dir, `batch-${journal.id}-${from}`);
    let r;
    try {
      writeRecord(jf, journal);
      if (from === 0) clearRecords(dir);
      r = await runner.batch(toolOf(first.op), lines(ps[0] ? part(ps[0]) : items), { firstIndex: from, record: journal.batch, force: opts.kind !== undefined, ...(then.length > 0 ? { then } : {}) });
    } catch (e) {
      // Nothing of this batch ran: its record could not be written.
      throw await abandon(runner, dir, journal, from, e);
    }
    if (opts.kind) {
      journal.done = from + items.length;
      from = journal.done;
      if (items[0]?.uncertain) continue;
      errors.push(...nonEmpty(r.stderr));
      continue;
    }
    journal.done = from + r.done;
    from = journal.done;
    if (r.ok) continue;
    const instead = busyAlternative(journal.steps, journal.done, r.stderr);
    if (instead) {
      journal.steps = instead;
      continue;
    }
    const failedStep = journal.steps[journal.done];
    // A batch that may have run after all is undone too: undoing what never ran only fails harmlessly.
    const maybe = r.uncertain ? journal.steps.slice(journal.done, end).map((s): Step => ({ ...s, uncertain: true })) : [];
    const undoErrors = await undoJournaled(runner, dir, [...journal.steps.slice(0, journal.done), ...maybe], `undo of the failed ${what}`, () => {
      if (journal.done === 0) removeFile(jf);
    }).catch((u: unknown) => {
      throw keptOnHost(u, what, dir, new XbError('state', `${what} failed at step ${journal.done + 1} of ${journal.steps.length}`, { detail: [failedStep ? opText(failedStep.op) : '?', firstError(r.stderr)] }));
    });
    if (undoErrors.length > 0) {
      throw new XbError('rollback-failed', `${what} failed and could not be fully undone`, {
        detail: [`failed: ${failedStep ? opText(failedStep.op) : '?'}: ${firstError(r.stderr)}`, 'undo errors:', ...undoErrors, `journal kept in ${jf}`],
      });
    }
    throw new XbError('rolled-back', `${what} failed at step ${journal.done + 1} of ${journal.steps.length}; the host was restored`, {
      detail: [failedStep ? opText(failedStep.op) : '?', firstError(r.stderr), `${journal.done} step(s) undone`],
    });
  }
  delete journal.inflight;
  delete journal.batch;
  journal.done = journal.steps.length;
  try {
    writeRecord(jf, journal);
  } catch (e) {
    // The journal on disk still settles to every step done, through the last batch's record.
    throw await abandon(runner, dir, journal, journal.done, e);
  }
  clearRecords(dir);
  return { ...journal, errors };
};

/**
 * What stays when a run's undo cannot be recorded: the journal on disk (the run's own, or the undo's
 * as far as it got) still says what ran, and the next run ends it. Never undone without a journal:
 * undo lines act on names, and run twice they reach links that got those names back (the NIC).
 */
export const keptOnHost = (e: unknown, what: string, dir: string, cause?: XbError): unknown => {
  if (!(e instanceof XbError) || e.kind !== 'state') return e;
  const first = cause?.message ?? e.message.replace(/; nothing was changed$/, '');
  return new XbError('state', `${first}; what ${what} changed stays on the host`, {
    detail: [...(cause ? [...cause.detail, `its undo: ${e.message.replace(/; nothing was changed$/, '')}`] : []), ...e.detail, `it is recorded in ${journalFile(dir)}: "xenbridge rollback" undoes it once the run directory can be written`],
  });
};

/** A run that cannot record its next batch stops there, and what it did is undone (a stop is left to be finished). */
const abandon = async (runner: Runner, dir: string, j: Journal, done: number, e: unknown): Promise<unknown> => {
  if (!(e instanceof XbError) || e.kind !== 'state' || j.kind) return e;
  let errors: string[];
  try {
    errors = await undoJournaled(runner, dir, j.steps.slice(0, done), `undo of the unrecorded ${j.what}`, () => removeFile(journalFile(dir)));
  } catch (u) {
    return keptOnHost(u, j.what, dir, e);
  }
  if (errors.length > 0) return new XbError('rollback-failed', `${e.message}; ${j.what} stopped after ${done} step(s) and could not undo them`, { detail: [...e.detail, ...errors] });
  return new XbError('state', `${e.message}; ${j.what} stopped and the host was restored (${done} step(s) undone)`, { detail: e.detail });
};

/** Ends a finished run: its outcome is recorded (marked with its id), then its journal goes. */
export const commitRun = (dir: string, j: Journal, record: (id: string) => void = () => undefined): void => {
  record(j.id ?? '');
  removeFile(journalFile(dir));
  dropCommitFiles(dir);
  clearRecords(dir);
};

/** prior: the history as read under the same lock, when the caller has it (a long one costs a parse). */
export const appendHistory = (dir: string, steps: Step[], committed?: string, prior: History | undefined = readHistory(dir)): void => {
  if (steps.length === 0 && committed === undefined) return;
  const h = prior ?? { started: new Date().toISOString(), steps: [] };
  writeRecord(historyFile(dir), { started: h.started, steps: [...h.steps, ...steps], ...(committed ? { committed } : h.committed ? { committed: h.committed } : {}) });
};

/** The undo lines of steps, last step first, as the steps of a run of their own. */
export const undoLines = (steps: Step[]): Step[] =>
  [...steps].reverse().flatMap((s) => s.undo.map((op): Step => ({ op, undo: [], ...(s.uncertain ? { uncertain: true as const } : {}) })));

/**
 * Ends an undo-only run (stop, undo): what commits it runs before its journal goes. Lines that
 * failed are reported, not kept for later: run after the lines that followed them, they could undo
 * what those restored (a route deleted from the NIC that got it back).
 */
export const endUndoRun = (dir: string, commit: () => void = () => undefined): void => {
  commit();
  removeFile(journalFile(dir));
  clearRecords(dir);
};

/** Undoes steps as a journaled run: a crash halfway leaves a journal the next run finishes. */
export const undoJournaled = async (runner: Runner, dir: string, steps: Step[], what: string, commit?: () => void, ends?: string): Promise<string[]> => {
  if (steps.length === 0) {
    commit?.();
    return [];
  }
  const r = await execute(runner, dir, undoLines(steps), what, { kind: 'undo', ends });
  endUndoRun(dir, commit);
  return r.errors;
};
