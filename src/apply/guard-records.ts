/**
 * The guard each vif hook made, one file per port under the run directory: what apply and verify
 * compare the kernel with. A vif's offline leaves its guard in the kernel and moves the record to
 * guards/retired/ (a rename: no space needed on a full /run); retired guards are removed later, many
 * in one nft transaction, because any nft transaction that deletes waits for an RCU grace period.
 */
import { readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { VifGuard } from '../plan/guard.js';
import { guardCheck } from '../txn/op-shape.js';
import { ensureDir, fsError, readRecord, removeFile, writeRecord, type RecordKind } from '../txn/store.js';

const recordDir = (dir: string): string => join(dir, 'guards');
const retiredDir = (dir: string): string => join(dir, 'guards', 'retired');
const recordFile = (dir: string, dev: string): string => join(recordDir(dir), `${dev}.json`);
const retiredFile = (dir: string, dev: string): string => join(retiredDir(dir), `${dev}.json`);

const GUARD: RecordKind<VifGuard> = {
  what: "record of a vif's guard",
  check: guardCheck,
  fix: 'apply and verify cannot compare that guard with the kernel: delete the file, then run the vif\'s online again (xl network-detach/attach) or reboot the guest',
};

export const readGuardRecord = (dir: string, dev: string): VifGuard | undefined => readRecord(recordFile(dir, dev), GUARD);
export const readRetiredRecord = (dir: string, dev: string): VifGuard | undefined => readRecord(retiredFile(dir, dev), GUARD);

export const saveGuardRecord = (dir: string, g: VifGuard): void => {
  // guards/retired/ too: offline's rename then needs no directory made on a full /run.
  ensureDir(retiredDir(dir));
  writeRecord(recordFile(dir, g.dev), g);
  removeFile(retiredFile(dir, g.dev));
};
export const forgetGuardRecord = (dir: string, dev: string): void => {
  removeFile(recordFile(dir, dev));
  removeFile(retiredFile(dir, dev));
};

/** The port's guard stays in the kernel, no longer its port's: false when it had no record. */
export const retireGuardRecord = (dir: string, dev: string): boolean => {
  try {
    renameSync(recordFile(dir, dev), retiredFile(dir, dev));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fsError(e, 'retiring', recordFile(dir, dev));
  }
};

const names = (d: string): string[] => {
  try {
    return readdirSync(d).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5));
  } catch {
    return [];
  }
};

export const retiredGuards = (dir: string): string[] => names(retiredDir(dir));

/** Whether the kernel holds a guard made since boot other than `except`'s own (directory listings; nothing is parsed). */
export const hasGuardRecords = (dir: string, except: string): boolean =>
  names(recordDir(dir)).some((n) => n !== except) || retiredGuards(dir).length > 0;

export interface GuardRecords {
  active: VifGuard[];
  retired: VifGuard[];
}

export const allGuardRecords = (dir: string): GuardRecords => ({
  active: names(recordDir(dir)).flatMap((n) => readGuardRecord(dir, n) ?? []),
  retired: retiredGuards(dir).flatMap((n) => readRetiredRecord(dir, n) ?? []),
});
