/**
 * What an online renamed: the device's ifindex and its new name, by domain and devid, so a later
 * online or offline finds that very device again and no other link that carries the name.
 */
import { join } from 'node:path';
import { int, object, str } from '../txn/shape.js';
import { ensureDir, readRecord, removeFile, writeRecord, type RecordKind } from '../txn/store.js';
import type { VifEvent } from './hotplug-env.js';

export interface VifRecord {
  ifindex: number;
  name: string;
}

const file = (dir: string, ev: VifEvent): string => join(dir, 'vifs', `${ev.domid}.${ev.devid}${ev.typeIf === 'tap' ? '-emu' : ''}.json`);

const VIF: RecordKind<VifRecord> = {
  what: 'record of a vif the hook renamed',
  check: object({ ifindex: int, name: str }),
  fix: "offline cannot tell which link is the guest's: delete the file, then detach the guest's port by hand",
};

export const readVifRecord = (dir: string, ev: VifEvent): VifRecord | undefined => readRecord(file(dir, ev), VIF);

export const writeVifRecord = (dir: string, ev: VifEvent, rec: VifRecord): void => {
  ensureDir(join(dir, 'vifs'));
  writeRecord(file(dir, ev), rec);
};

export const forgetVifRecord = (dir: string, ev: VifEvent): void => removeFile(file(dir, ev));
