/**
 * Vif guards, kernel against records: each recorded guard of an attached port must be in the kernel,
 * whole (both chains, both map elements) and with the digest of its record; a guard with no port
 * left is reported too. Frames a guard dropped are counted by reason.
 */
import type { Runner } from '../exec/runner.js';
import { guardDigest, type VifGuard } from '../plan/guard.js';
import { readGuards, type LiveGuard } from '../state/guards.js';
import { readLinks } from '../state/read.js';
import { linkByName, type HostState } from '../state/types.js';
import { allGuardRecords } from './guard-records.js';

export type GuardState = 'ok' | 'missing' | 'incomplete' | 'differs' | 'orphan';

export interface GuardCheck {
  dev: string;
  state: GuardState;
  record?: VifGuard;
  live?: LiveGuard;
}

const whole = (l: LiveGuard): boolean => l.inChain && l.outChain && l.inMapped && l.outMapped && l.hooked;

export const checkGuards = (records: VifGuard[], live: Map<string, LiveGuard>, s: Pick<HostState, 'links'>): GuardCheck[] => {
  const out: GuardCheck[] = [];
  for (const r of records) {
    const l = live.get(r.dev);
    const port = linkByName(s as HostState, r.dev);
    const state: GuardState = !port?.master ? (l ? 'orphan' : 'ok') : !l ? 'missing' : !whole(l) ? 'incomplete' : l.digest !== guardDigest(r) ? 'differs' : 'ok';
    out.push({ dev: r.dev, state, record: r, live: l });
  }
  for (const [dev, l] of live) if (!records.some((r) => r.dev === dev)) out.push({ dev, state: 'orphan', live: l });
  return out;
};

/** One nft read and one ip read, whatever the number of vifs. */
export const readGuardChecks = async (runner: Runner, dir: string, s?: Pick<HostState, 'links'>): Promise<GuardCheck[]> => {
  const records = allGuardRecords(dir);
  const live = await readGuards(runner);
  if (records.length === 0 && live.size === 0) return [];
  const links = s ?? (await readLinks(runner, { names: [...new Set([...records.map((r) => r.dev), ...live.keys()])] }));
  return checkGuards(records, live, links);
};
