/** The guard each vif hook made, one file per port under the run directory: what apply and verify compare the kernel with. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { VifGuard } from '../plan/guard.js';
import { guardCheck } from '../txn/op-shape.js';
import { ensureDir, readRecord, removeFile, writeRecord, type RecordKind } from '../txn/store.js';

const recordDir = (dir: string): string => join(dir, 'guards');
const recordFile = (dir: string, dev: string): string => join(recordDir(dir), `${dev}.json`);

const GUARD: RecordKind<VifGuard> = {
  what: "record of a vif's guard",
  check: guardCheck,
  fix: 'apply and verify cannot compare that guard with the kernel: delete the file, then run the vif\'s online again (xl network-detach/attach) or reboot the guest',
};

export const readGuardRecord = (dir: string, dev: string): VifGuard | undefined => readRecord(recordFile(dir, dev), GUARD);
export const saveGuardRecord = (dir: string, g: VifGuard): void => {
  ensureDir(recordDir(dir));
  writeRecord(recordFile(dir, g.dev), g);
};
export const forgetGuardRecord = (dir: string, dev: string): void => removeFile(recordFile(dir, dev));

/** Whether a port other than `except` has a record (a directory listing; nothing is parsed). */
export const hasGuardRecords = (dir: string, except: string): boolean => {
  try {
    return readdirSync(recordDir(dir)).some((n) => n.endsWith('.json') && n !== `${except}.json`);
  } catch {
    return false;
  }
};

export const allGuardRecords = (dir: string): VifGuard[] => {
  let names: string[];
  try {
    names = readdirSync(recordDir(dir));
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.json')).flatMap((n) => readGuardRecord(dir, n.slice(0, -5)) ?? []);
};
