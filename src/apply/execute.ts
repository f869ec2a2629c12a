/**
 * Runs steps as one batch process per phase (a run of consecutive steps for the same tool), with a
 * journal written before each batch so a crash leaves a record of what may have run. On failure the
 * done steps are undone in reverse.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { XbError } from '../errors.js';
import type { Line, Step } from '../plan/steps.js';
import type { Runner, Tool } from '../exec/runner.js';
import { readJson, removeFile, writeJson } from './store.js';

export interface Journal {
  pid: number;
  started: string;
  what: string;
  steps: Step[];
  /** Steps known to have completed. */
  done: number;
  /** Steps handed to a batch that had not reported back: a crash leaves them unknown. */
  inflight?: [number, number];
  /** Record prefix of the in-flight batch (runner recordFiles): how far it got, after a crash. */
  batch?: string;
}

export interface History {
  started: string;
  steps: Step[];
}

export const journalFile = (dir: string): string => join(dir, 'journal.json');
export const historyFile = (dir: string): string => join(dir, 'history.json');

export const groups = <T extends Line>(lines: T[], same: (a: T, b: T) => boolean = (a, b) => a.tool === b.tool): { tool: Tool; from: number; items: T[] }[] => {
  const out: { tool: Tool; from: number; items: T[] }[] = [];
  lines.forEach((l, i) => {
    const last = out[out.length - 1];
    const prev = last?.items[last.items.length - 1];
    if (last && prev && same(prev, l)) last.items.push(l);
    else out.push({ tool: l.tool, from: i, items: [l] });
  });
  return out;
};

/**
 * Undo lines run with -force: after a failure, undoing as much as possible beats stopping halfway.
 * Errors from the undo of an uncertain step only say it never ran, so they are not reported.
 */
export const undo = async (runner: Runner, steps: Step[]): Promise<string[]> => {
  const lines = [...steps].reverse().flatMap((s) => s.undo.map((l) => ({ ...l, uncertain: s.uncertain === true })));
  const errors: string[] = [];
  for (const g of groups(lines, (a, b) => a.tool === b.tool && a.uncertain === b.uncertain)) {
    const r = await runner.batch(g.tool, g.items.map((l) => l.line), { force: true });
    if (!r.ok && !g.items[0]?.uncertain) errors.push(...r.stderr.split('\n').filter((l) => l.trim() !== ''));
  }
  return errors;
};

/** Removes every batch record in dir: once a run has ended or been recovered they say nothing. */
export const clearRecords = (dir: string): void => {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith('batch-')) removeFile(join(dir, n));
};

const firstError = (stderr: string): string =>
  stderr.split('\n').find((l) => l.trim() !== '' && !l.startsWith('Command failed')) ?? stderr.trim();

/** Journaled run; returns normally only when every step ran. */
export const execute = async (runner: Runner, dir: string, steps: Step[], what: string): Promise<void> => {
  if (steps.length === 0) return;
  const jf = journalFile(dir);
  const journal: Journal = { pid: process.pid, started: new Date().toISOString(), what, steps, done: 0 };
  clearRecords(dir);
  for (const g of groups(steps)) {
    journal.inflight = [g.from, g.from + g.items.length];
    journal.batch = join(dir, `batch-${g.from}`);
    writeJson(jf, journal);
    const r = await runner.batch(g.tool, g.items.map((s) => s.line), { firstIndex: g.from, record: journal.batch });
    journal.done = g.from + r.done;
    if (r.ok) continue;
    delete journal.inflight;
    delete journal.batch;
    writeJson(jf, journal);
    clearRecords(dir);
    const failed = steps[journal.done];
    const errors = await undo(runner, steps.slice(0, journal.done));
    if (errors.length > 0) {
      throw new XbError('rollback-failed', `${what} failed and could not be fully undone`, {
        detail: [`failed: ${failed?.tool} ${failed?.line}: ${firstError(r.stderr)}`, 'undo errors:', ...errors, `journal kept in ${jf}`],
      });
    }
    removeFile(jf);
    throw new XbError('rolled-back', `${what} failed at step ${journal.done + 1} of ${steps.length}; the host was restored`, {
      detail: [`${failed?.tool} ${failed?.line}`, firstError(r.stderr), `${journal.done} step(s) undone`],
    });
  }
  delete journal.inflight;
  delete journal.batch;
  journal.done = steps.length;
  writeJson(jf, journal);
  clearRecords(dir);
};

export const appendHistory = (dir: string, steps: Step[]): void => {
  if (steps.length === 0) return;
  const hf = historyFile(dir);
  const h = readJson<History>(hf) ?? { started: new Date().toISOString(), steps: [] };
  h.steps.push(...steps);
  writeJson(hf, h);
};
