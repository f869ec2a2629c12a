/**
 * apply puts back the guard of every attached vif whose guard is missing, partial or different
 * from its record, and removes guards whose port has gone. These steps stay out of the history
 * `stop` undoes: guards belong to the vifs, whose offline removes them.
 */
import type { Runner } from '../exec/runner.js';
import type { Step } from '../plan/steps.js';
import { addGuard, delGuard } from '../plan/steps-guard.js';
import { readGuardChecks } from './guard-check.js';
import { forgetGuardRecord } from './guard-records.js';
import { commitRun, execute } from '../txn/execute.js';

export const repairGuards = async (runner: Runner, dir: string): Promise<string[]> => {
  const checks = await readGuardChecks(runner, dir);
  const steps: Step[] = [];
  const notes: string[] = [];
  const gone: string[] = [];
  for (const c of checks) {
    if (c.state === 'ok' || !c.record) continue;
    if (c.state === 'orphan') {
      steps.push(delGuard(c.record));
      gone.push(c.dev);
      notes.push(`removed the guard of ${c.dev}: the port is no longer attached`);
    } else {
      steps.push(addGuard(c.record));
      notes.push(`re-created the guard of ${c.dev} (it was ${c.state})`);
    }
  }
  if (steps.length === 0) return [];
  commitRun(dir, await execute(runner, dir, steps, 'apply: vif guards'), () => gone.forEach((d) => forgetGuardRecord(dir, d)));
  return notes;
};
