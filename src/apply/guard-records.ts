/** The guard each vif hook made, one file per port under the run directory: what apply and verify compare the kernel with. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { VifGuard } from '../plan/guard.js';
import { ensureDir, readJson, removeFile, writeJson } from './store.js';

const recordDir = (dir: string): string => join(dir, 'guards');
const recordFile = (dir: string, dev: string): string => join(recordDir(dir), `${dev}.json`);

export const readGuardRecord = (dir: string, dev: string): VifGuard | undefined => readJson<VifGuard>(recordFile(dir, dev));
export const saveGuardRecord = (dir: string, g: VifGuard): void => {
  ensureDir(recordDir(dir));
  writeJson(recordFile(dir, g.dev), g);
};
export const forgetGuardRecord = (dir: string, dev: string): void => removeFile(recordFile(dir, dev));

export const allGuardRecords = (dir: string): VifGuard[] => {
  let names: string[];
  try {
    names = readdirSync(recordDir(dir));
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.json')).flatMap((n) => readGuardRecord(dir, n.slice(0, -5)) ?? []);
};
