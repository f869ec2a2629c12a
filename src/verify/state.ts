/** `xenbridge verify`: does the live state match the file, and is the layout free of known traps? */
import { setTimeout as sleep } from 'node:timers/promises';
import { isXbError, problemLines } from '../errors.js';
import type { Context } from '../context.js';
import type { Topology } from '../model/topology.js';
import { makePlan } from '../plan/diff.js';
import { opText } from '../plan/render.js';
import { readStateFor } from '../state/read.js';
import type { HostState } from '../state/types.js';
import { lint, type Finding } from './lint.js';
import { guardFindings, unguardedVifFindings } from './guards.js';
import { readGuardChecks } from '../apply/guard-check.js';
import { desiredState } from '../plan/desired.js';
import { readHistory } from '../txn/execute.js';
import { staleFindings } from './stale.js';

export interface VerifyReport {
  ok: boolean;
  /** What apply would still change, as its batch lines. */
  differences: string[];
  findings: Finding[];
}

export const verifyState = (t: Topology, s: HostState): VerifyReport => {
  let differences: string[];
  try {
    differences = makePlan(t, s).steps.map((st) => opText(st.op));
  } catch (e) {
    if (!isXbError(e) || e.kind === 'bug') throw e;
    differences = [e.message, ...problemLines(e.problems), ...e.detail];
  }
  const findings = lint(s);
  return { ok: differences.length === 0 && !findings.some((f) => f.level === 'error'), differences, findings };
};

/** Links an earlier apply made that the file dropped; nothing when the history or the file cannot tell. */
const leftBehind = (t: Topology, dir: string, s: HostState): Finding[] => {
  try {
    const steps = readHistory(dir)?.steps ?? [];
    return steps.length === 0 ? [] : staleFindings(steps, new Set(desiredState(t, s).links.map((l) => l.name)), s);
  } catch (e) {
    // An unreadable history is status's to report; a file the planner refuses, the differences'.
    if (isXbError(e)) return [];
    throw e;
  }
};

/**
 * Carrier and operstate reach userspace through the kernel's linkwatch, up to a second late, so a
 * report with differences or findings is read again before it is believed (as nmstate retries).
 */
export const verifyTopology = async (t: Topology, ctx: Context, attempts = 3): Promise<VerifyReport> => {
  let s = await readStateFor(t, ctx);
  let report = verifyState(t, s);
  for (let i = 1; i < attempts && (report.differences.length > 0 || report.findings.length > 0); i++) {
    await sleep(500);
    s = await readStateFor(t, ctx);
    report = verifyState(t, s);
  }
  const checks = await readGuardChecks(ctx.runner, ctx.runDir, s);
  const guards = [...guardFindings(checks), ...unguardedVifFindings(t, s, checks)];
  return { ...report, ok: report.ok && !guards.some((f) => f.level === 'error'), findings: [...report.findings, ...guards, ...leftBehind(t, ctx.runDir, s)] };
};
