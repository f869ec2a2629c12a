/**
 * Vif guards, kernel against records: each recorded guard of an attached port must be in the kernel,
 * whole (both chains, both map elements) and with the digest of its record; a guard with no port
 * left is reported too. Frames a guard dropped are counted by reason.
 */
import type { Runner } from '../exec/runner.js';
import { GUARDED_PORT_FWD_MASK } from '../model/guard-table.js';
import { guardDigest, inRules, outRules, type VifGuard } from '../plan/guard.js';
import { readGuards, type LiveGuard } from '../state/guards.js';
import { readLinks } from '../state/read.js';
import { linkByName, type HostState } from '../state/types.js';
import { allGuardRecords, type GuardRecords } from './guard-records.js';

/**
 * retired: left by its vif's offline, port not attached; removed later (apply/guard-records.ts).
 * unmasked: the guard is right but its port does not forward the bridge-local groups into it (an
 * older xenbridge attached it, or its mask was cleared): the port's own stack takes those frames
 * past every bridge hook, whatever source they claim.
 */
export type GuardState = 'ok' | 'missing' | 'incomplete' | 'differs' | 'unmasked' | 'orphan' | 'retired';

export interface GuardCheck {
  dev: string;
  state: GuardState;
  record?: VifGuard;
  live?: LiveGuard;
}

const whole = (l: LiveGuard): boolean => l.inChain && l.outChain && l.inMapped && l.outMapped && l.hooked;

/**
 * The digest is the head rule's comment alone: a rule put into the chain (an `accept` first) or one
 * taken out keeps it. Each rule's comment, in order, must be the record's rules' too.
 */
const shapeOf = (rules: string[]): string[] => rules.map((r) => /comment "([^"]*)"$/.exec(r)?.[1] ?? '');
const same = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const asRecorded = (l: LiveGuard, r: VifGuard): boolean =>
  l.digest === guardDigest(r) && same(l.inShape, shapeOf(inRules(r))) && same(l.outShape, shapeOf(outRules(r)));

export const checkGuards = (records: GuardRecords, live: Map<string, LiveGuard>, s: Pick<HostState, 'links'>): GuardCheck[] => {
  const out: GuardCheck[] = [];
  const all = [...records.active, ...records.retired.filter((r) => !records.active.some((a) => a.dev === r.dev))];
  for (const r of all) {
    const l = live.get(r.dev);
    const port = linkByName(s as HostState, r.dev);
    // A retired guard whose port is attached again (by hand, or a crash between an online's change and its record) guards it: checked as any.
    const detached: GuardState = records.retired.includes(r) ? 'retired' : l ? 'orphan' : 'ok';
    const state: GuardState = !port?.master ? detached : !l ? 'missing' : !whole(l) ? 'incomplete' : !asRecorded(l, r) ? 'differs'
      : port.portFwdMask !== GUARDED_PORT_FWD_MASK ? 'unmasked' : 'ok';
    out.push({ dev: r.dev, state, record: r, live: l });
  }
  for (const [dev, l] of live) if (!all.some((r) => r.dev === dev)) out.push({ dev, state: 'orphan', live: l });
  return out;
};

/** One nft read and one ip read, whatever the number of vifs. */
export const readGuardChecks = async (runner: Runner, dir: string, s?: Pick<HostState, 'links'>, records: GuardRecords = allGuardRecords(dir)): Promise<GuardCheck[]> => {
  const recorded = records.active.length + records.retired.length > 0;
  const live = await readGuards(runner, recorded);
  if (!recorded && live.size === 0) return [];
  const names = [...records.active, ...records.retired].map((r) => r.dev);
  const links = s ?? (await readLinks(runner, { names: [...new Set([...names, ...live.keys()])] }));
  return checkGuards(records, live, links);
};
