/**
 * VLAN bridges the vif hook made on demand (vif-vlans): their creation steps, by bridge, so the hook
 * can drop them when the last vif leaves and `stop` can undo those still there.
 */
import type { Step } from '../plan/steps.js';
import { ON_DEMAND, onDemandFile, type OnDemand } from './records.js';
import { readRecord, removeFile, writeRecord } from './store.js';

const read = (dir: string): { bridges: OnDemand; committed?: string } => readRecord(onDemandFile(dir), ON_DEMAND) ?? { bridges: {} };

export const onDemandCommitted = (dir: string): string | undefined => read(dir).committed;

export const recordOnDemand = (dir: string, bridge: string, steps: Step[], committed: string): void => {
  const all = read(dir).bridges;
  all[bridge] = [...(all[bridge] ?? []), ...steps];
  writeRecord(onDemandFile(dir), { bridges: all, committed });
};

export const forgetOnDemand = (dir: string, bridge: string, committed: string): void => {
  const all = read(dir).bridges;
  delete all[bridge];
  writeRecord(onDemandFile(dir), { bridges: all, committed });
};

export const allOnDemand = (dir: string): Step[] => Object.values(read(dir).bridges).flat();

export const clearOnDemand = (dir: string): void => removeFile(onDemandFile(dir));
