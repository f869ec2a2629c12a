/**
 * The guard each vif hook made, one file per port under the run directory: what apply and verify
 * compare the kernel with. A vif's offline leaves its guard in the kernel and moves the record to
 * guards/retired/; retired guards are removed later, many in one nft transaction, because any nft
 * transaction that deletes waits for an RCU grace period. Records change only as a run commits,
 * through the run's list of file changes (txn/commit-files.ts), so a crash part-way is finished.
 */
import { namesIn } from '../exec/files.js';
import { join } from 'node:path';
import type { VifGuard } from '../plan/guard.js';
import type { FileOp } from '../txn/commit-files.js';
import { guardCheck } from '../txn/op-shape.js';
import { readRecord, recordText, type RecordKind } from '../txn/store.js';

const active = (dev: string): string => `guards/${dev}.json`;
const retired = (dev: string): string => `guards/retired/${dev}.json`;

const GUARD: RecordKind<VifGuard> = {
  what: "record of a vif's guard",
  check: guardCheck,
  fix: 'apply and verify cannot compare that guard with the kernel: delete the file, then run the vif\'s online again (xl network-detach/attach) or reboot the guest',
};

export const readGuardRecord = (dir: string, dev: string): VifGuard | undefined => readRecord(join(dir, active(dev)), GUARD);
export const readRetiredRecord = (dir: string, dev: string): VifGuard | undefined => readRecord(join(dir, retired(dev)), GUARD);

/** The port's guard is g. */
export const saveOps = (g: VifGuard): FileOp[] => [{ op: 'write', path: active(g.dev), text: recordText(g) }, { op: 'remove', path: retired(g.dev) }];
/** The port's guard is gone from the kernel. */
export const forgetOps = (dev: string): FileOp[] => [{ op: 'remove', path: active(dev) }, { op: 'remove', path: retired(dev) }];
/** The port's guard stays in the kernel, no longer its port's. */
export const retireOps = (dev: string): FileOp[] => [{ op: 'rename', path: active(dev), to: retired(dev) }];

const names = (d: string): string[] => namesIn(d).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5));

export const retiredGuards = (dir: string): string[] => names(join(dir, 'guards/retired'));

/**
 * Whether another port's guard is in use (a directory listing; nothing is parsed): then the table's
 * hook chains were made since boot. Retired guards do not count: with no port to make anyone look,
 * nobody would notice their table flushed (an nftables restart runs `flush ruleset`).
 */
export const hasGuardRecords = (dir: string, except: string): boolean => names(join(dir, 'guards')).some((n) => n !== except);

export interface GuardRecords {
  active: VifGuard[];
  retired: VifGuard[];
}

/** Every record; an unreadable retired one is left out (it guards no port; its chains show as an orphan). */
export const allGuardRecords = (dir: string): GuardRecords => ({
  active: names(join(dir, 'guards')).flatMap((n) => readGuardRecord(dir, n) ?? []),
  retired: retiredGuards(dir).flatMap((n) => readableRetired(dir, n) ?? []),
});

/**
 * Every record that can be read, and the errors of those that cannot: repair-guards puts back every
 * guard it can, since one damaged record must not leave every other guest unguarded after a flush.
 */
export const readableGuardRecords = (dir: string): { records: GuardRecords; unreadable: unknown[] } => {
  const unreadable: unknown[] = [];
  const active = names(join(dir, 'guards')).flatMap((n) => {
    try {
      return readGuardRecord(dir, n) ?? [];
    } catch (e) {
      unreadable.push(e);
      return [];
    }
  });
  return { records: { active, retired: retiredGuards(dir).flatMap((n) => readableRetired(dir, n) ?? []) }, unreadable };
};

export const readableRetired = (dir: string, dev: string): VifGuard | undefined => {
  try {
    return readRetiredRecord(dir, dev);
  } catch {
    return undefined;
  }
};
