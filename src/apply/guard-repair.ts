/**
 * apply puts back the guard of every attached vif whose guard is missing, partial or different
 * from its record, and removes guards whose port has gone. These steps stay out of the history
 * `stop` undoes: guards belong to the vifs, whose offline removes them.
 */
import type { Runner } from '../exec/runner.js';
import type { Step } from '../plan/steps.js';
import { GUARDED_PORT_FWD_MASK } from '../model/guard-table.js';
import { addGuard, delGuard, guestPortFlags } from '../plan/steps-guard.js';
import { readGuardChecks } from './guard-check.js';
import { allGuardRecords, forgetOps, readableGuardRecords, type GuardRecords } from './guard-records.js';
import { commitFiles } from '../txn/commit-files.js';
import { commitRun, execute } from '../txn/execute.js';
import type { Context } from '../context.js';
import { recoverVifLocked } from '../txn/recover-run.js';
import { withTxn } from '../txn/txn.js';

export interface GuardRepair {
  steps: Step[];
  notes: string[];
  /** Ports whose guard goes with their record. */
  gone: string[];
}

/** What repairing the guards takes (read only: nothing changes until runGuardRepair). */
export const planGuardRepair = async (runner: Runner, dir: string, records: GuardRecords = allGuardRecords(dir)): Promise<GuardRepair> => {
  const r: GuardRepair = { steps: [], notes: [], gone: [] };
  // Only a recorded guard is repaired (one without a record is no vif's to mend): with no record,
  // nft is not asked, and a host with no guards pays no process for them on every apply.
  if (records.active.length + records.retired.length === 0) return r;
  const checks = await readGuardChecks(runner, dir, undefined, records);
  for (const c of checks) {
    if (c.state === 'ok' || !c.record) continue;
    if (c.state === 'orphan' || c.state === 'retired') {
      r.steps.push(delGuard(c.record));
      r.gone.push(c.dev);
      r.notes.push(c.state === 'retired' ? `removed the guard ${c.dev}'s offline left` : `removed the guard of ${c.dev}: the port is no longer attached`);
    } else if (c.state === 'unmasked') {
      // The guard stands; only the port's mask, which sends those frames into it, is put back.
      r.steps.push(guestPortFlags(c.dev, GUARDED_PORT_FWD_MASK));
      r.notes.push(`set the group_fwd_mask of ${c.dev} (its bridge-local group frames bypassed its guard)`);
    } else {
      r.steps.push(addGuard(c.record));
      r.notes.push(`re-created the guard of ${c.dev} (it was ${c.state === 'differs' ? 'other than its record' : c.state})`);
    }
  }
  return r;
};

export const runGuardRepair = async (runner: Runner, dir: string, r: GuardRepair): Promise<string[]> => {
  if (r.steps.length === 0) return [];
  // Named as a vif event's run ("vif …"): one killed halfway (systemd stops nftables.service while
  // its repair runs) is undone by the next vif hook or repair-guards, not left for the admin, which
  // would fail every vif event and every repair until then (txn/recover-run.ts recoverVifLocked).
  commitRun(dir, await execute(runner, dir, r.steps, 'vif guards: repair'), (id) => commitFiles(dir, id, r.gone.flatMap(forgetOps)));
  return r.notes;
};

/**
 * The guards alone, under the lock, as apply mends them (nftables.service runs it, through our
 * drop-in, after it loads or flushes its ruleset, which takes every guard with it): nothing of
 * the topology file, so an edit not yet applied is not applied with it. Like the hook, it relies on
 * no history and ends an interrupted vif event first; any other interrupted run is the admin's.
 * The journal is the only run record it checks first: the record of VLAN bridges made on demand is
 * none of the guards', and a damaged one (the hook's to refuse) must not keep every guard out.
 * A record that cannot be read is returned, not thrown: every other guard is put back first.
 */
export const repairGuards = async (ctx: Pick<Context, 'runner' | 'runDir' | 'lockTimeoutMs'>): Promise<{ notes: string[]; unreadable: unknown[] }> =>
  withTxn(ctx.runDir, async () => {
    const recovered = await recoverVifLocked(ctx.runner, ctx.runDir);
    const { records, unreadable } = readableGuardRecords(ctx.runDir);
    const notes = await runGuardRepair(ctx.runner, ctx.runDir, await planGuardRepair(ctx.runner, ctx.runDir, records));
    return { notes: recovered ? [recovered, ...notes] : notes, unreadable };
  }, { records: ['journal'], lockMs: ctx.lockTimeoutMs });
