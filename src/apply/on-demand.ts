/**
 * VLAN bridges the vif hook made on demand (vif-vlans): their creation steps, by bridge, so the hook
 * can drop them when the last vif leaves and `stop` can undo those still there.
 */
import { join } from 'node:path';
import type { Step } from '../plan/steps.js';
import { readJson, writeJson } from './store.js';

type OnDemand = Record<string, Step[]>;

const file = (dir: string): string => join(dir, 'on-demand.json');

export const recordOnDemand = (dir: string, bridge: string, steps: Step[]): void => {
  const all = readJson<OnDemand>(file(dir)) ?? {};
  all[bridge] = [...(all[bridge] ?? []), ...steps];
  writeJson(file(dir), all);
};

export const forgetOnDemand = (dir: string, bridge: string): void => {
  const all = readJson<OnDemand>(file(dir)) ?? {};
  delete all[bridge];
  writeJson(file(dir), all);
};

export const allOnDemand = (dir: string): Step[] => Object.values(readJson<OnDemand>(file(dir)) ?? {}).flat();

export const clearOnDemand = (dir: string): void => writeJson(file(dir), {});
