/**
 * After a crash: how far did the interrupted run get? Steps before the in-flight batch are done; the
 * in-flight batch's record (runner recordFiles) tells how many of its lines ran. Only a batch whose
 * own process was killed leaves steps whose fate is unknown.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { readRecordText as readText } from '../exec/files.js';
import { failedLineOf, recordFiles, type Runner } from '../exec/runner.js';
import type { Op } from '../plan/ops.js';
import { toolOf } from '../plan/render.js';
import type { Step } from '../plan/steps.js';
import { readState } from '../state/read.js';
import type { Journal } from './records.js';
import { alive } from './lock.js';

export interface Settled {
  /** Steps known to have run. */
  done: number;
  /** Steps after those that may or may not have run. */
  uncertain: number;
  /** The batch is still running (its ip outlives the process that started it). */
  running: boolean;
}

export const settle = (j: Journal): Settled => {
  if (!j.inflight) return { done: j.done, uncertain: 0, running: false };
  const [from, to] = j.inflight;
  const unknown: Settled = { done: from, uncertain: to - from, running: false };
  if (j.batch === undefined) return unknown;
  const f = recordFiles(j.batch);
  const rc = readText(f.rc)?.trim();
  if (rc !== undefined && rc !== '') {
    // An undo-only run's batches (stop, undo) run with -force: a batch that ended tried every line,
    // and a line after its first failure must not run again (it may hit a link a later line renamed back).
    if (Number(rc) === 0 || j.kind !== undefined) return { done: Math.min(to, from + (readText(f.lines) ?? '').split('\n').filter((l) => l !== '').length), uncertain: 0, running: false };
    const failed = failedLineOf(readText(f.out) ?? '');
    return failed === undefined ? unknown : { done: Math.min(to, from + failed - 1), uncertain: 0, running: false };
  }
  const pid = Number(readText(f.pid));
  // No pid: the shell never started, so nothing of this batch ran.
  if (!Number.isInteger(pid) || pid <= 0) return { done: from, uncertain: 0, running: false };
  return { ...unknown, running: alive(pid) };
};

/** The link an ip op acts on by name (a link change, an address or a route on it), if any. */
const target = (op: Op): string | undefined => {
  switch (op.kind) {
    case 'rename':
      return op.from;
    case 'addRoute':
    case 'delRoute':
      return op.route.dev;
    case 'setSysctl':
      return op.dev;
    case 'addBridge':
    case 'addVeth':
    case 'addVlan':
    case 'addBond':
    case 'addNetns':
    case 'delNetns':
    case 'line':
      return undefined;
    default:
      return toolOf(op) === 'ip' && 'dev' in op ? op.dev : undefined;
  }
};

/**
 * Undoing a step that never ran mostly fails harmlessly (the link or address is not there). The
 * lasting harm comes from names a rename frees (dom0's veth takes the NIC's name): if that rename
 * never ran, the name is still the NIC's, so an undo line of a later step aimed at that name (delete
 * the veth, take its address or route off, bring it down) is dropped.
 */
export const guardUncertain = (steps: Step[], names: Set<string>): Step[] => {
  const renamedTo = new Map<string, string>();
  const keep = (u: Op): boolean => {
    const away = renamedTo.get(target(u) ?? '');
    return away === undefined || names.has(away);
  };
  return steps.map((s) => {
    const guarded = s.uncertain ? { ...s, undo: s.undo.filter(keep) } : s;
    if (s.op.kind === 'rename') renamedTo.set(s.op.from, s.op.to);
    return guarded;
  });
};

/** How far an interrupted run got, once a batch it left running has ended (or 10 s have passed). */
export const settleWaiting = async (j: Journal): Promise<Settled> => {
  let s = settle(j);
  for (let i = 0; i < 100 && s.running; i++) {
    await sleep(100);
    s = settle(j);
  }
  return s;
};

/**
 * The steps an interrupted stop has left: those after the ones known to have run. Of those that may
 * have run, a line aimed at a name a later step renames a link to is kept only while that link still
 * has its old name (else the line ran, and would now hit the renamed link: the NIC, back under its
 * own name).
 */
export const stepsToFinish = async (j: Journal, runner: Runner): Promise<{ steps: Step[]; settled: Settled }> => {
  const s = await settleWaiting(j);
  const rest = j.steps.slice(s.done).map((st, i): Step => (i < s.uncertain ? { ...st, uncertain: true } : st));
  if (s.uncertain === 0) return { steps: rest, settled: s };
  const names = new Set((await readState(runner)).links.map((l) => l.name));
  const renamedFrom = new Map<string, string>();
  const kept: Step[] = [];
  for (const st of [...rest].reverse()) {
    const from = renamedFrom.get(target(st.op) ?? '');
    if (!st.uncertain || from === undefined || names.has(from)) kept.push(st);
    if (st.op.kind === 'rename') renamedFrom.set(st.op.to, st.op.from);
  }
  return { steps: kept.reverse(), settled: s };
};

/** The steps to undo for an interrupted run, waiting first for a batch that is still running. */
export const stepsToUndo = async (j: Journal, runner: Runner): Promise<{ steps: Step[]; settled: Settled }> => {
  const s = await settleWaiting(j);
  const uncertain = j.steps.slice(s.done, s.done + s.uncertain).map((st): Step => ({ ...st, uncertain: true }));
  const steps = [...j.steps.slice(0, s.done), ...uncertain];
  if (uncertain.length === 0) return { steps, settled: s };
  const names = new Set((await readState(runner)).links.map((l) => l.name));
  return { steps: guardUncertain(steps, names), settled: s };
};

export const describeInterrupted = (j: Journal, s: Settled): string =>
  `${j.what} by pid ${j.pid} at ${j.started} was interrupted after ${s.done} of ${j.steps.length} steps` +
  (s.uncertain > 0 ? ` (${s.uncertain} more may have run${s.running ? '; its batch is still running' : ''})` : '');
