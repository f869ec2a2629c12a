/**
 * What an online renamed: the device's ifindex and its new name, by domain and devid, so a later
 * online or offline finds that very device again and no other link that carries the name.
 */
import { join } from 'node:path';
import { ensureDir, readJson, removeFile, writeJson } from '../apply/store.js';
import type { VifEvent } from './hotplug-env.js';

export interface VifRecord {
  ifindex: number;
  name: string;
}

const file = (dir: string, ev: VifEvent): string => join(dir, 'vifs', `${ev.domid}.${ev.devid}${ev.typeIf === 'tap' ? '-emu' : ''}.json`);

export const readVifRecord = (dir: string, ev: VifEvent): VifRecord | undefined => {
  const r = readJson<Partial<VifRecord>>(file(dir, ev));
  return r && typeof r.ifindex === 'number' && typeof r.name === 'string' ? { ifindex: r.ifindex, name: r.name } : undefined;
};

export const writeVifRecord = (dir: string, ev: VifEvent, rec: VifRecord): void => {
  ensureDir(join(dir, 'vifs'));
  writeJson(file(dir, ev), rec);
};

export const forgetVifRecord = (dir: string, ev: VifEvent): void => removeFile(file(dir, ev));
