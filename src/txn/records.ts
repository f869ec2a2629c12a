/** The records of the run directory: their shapes, and what to do when one cannot be read. */
import { join } from 'node:path';
import type { Step } from '../plan/steps.js';
import { stepCheck, stepsOfV1 } from './op-shape.js';
import { ShapeError, int, list, object, oneOf, optional, record, str, type Check } from './shape.js';
import type { RecordKind } from './store.js';

export { stepCheck } from './op-shape.js';

const pair: Check<[number, number]> = (v, at) => {
  const [a, b] = list(int)(v, at);
  if (a === undefined || b === undefined || a > b) throw new ShapeError(`${at} should be [from, to]`);
  return [a, b];
};

/** A record of version 1 (or without a version) with its steps as line ops. */
export const withV1Steps = (v: unknown): unknown => ({ ...(v as object), steps: stepsOfV1((v as { steps?: unknown }).steps) });

export interface Journal {
  /** Written into the record that commits the run, so a journal left behind by a crash after its commit is known to be finished. */
  id?: string;
  pid: number;
  started: string;
  /** apply, stop, vif ..., revert ...: what recovery reports. */
  what: string;
  steps: Step[];
  /** Steps known to have completed. */
  done: number;
  /** Steps handed to a batch that had not reported back: a crash leaves them unknown. */
  inflight?: [number, number];
  /** Record prefix of the in-flight batch (runner recordFiles): how far it got, after a crash. */
  batch?: string;
  /**
   * Runs that only undo (stop, rollback, the undo of a failed apply) are finished, never undone, by
   * whatever runs next: what they undid is what was asked for. stop also ends the history.
   */
  kind?: 'stop' | 'undo';
  /** The change waiting for confirm that this undo reverts: its record goes when the undo ends. */
  ends?: string;
}

const journalShape = object({
  id: optional(str), pid: int, started: str, what: str, steps: list(stepCheck), done: int, inflight: optional(pair), batch: optional(str), kind: optional(oneOf('stop', 'undo')), ends: optional(str),
});

export const JOURNAL: RecordKind<Journal> = {
  what: 'journal of an interrupted run',
  since: 2,
  check: (v, at) => {
    const j = journalShape(v, at);
    if (j.done < 0 || j.done > j.steps.length) throw new ShapeError('done is past the last step');
    // Recovery counts steps from these and reads the batch's files: they must be this run's.
    if (j.inflight && !(j.done <= j.inflight[0] && j.inflight[0] <= j.inflight[1] && j.inflight[1] <= j.steps.length)) throw new ShapeError('inflight is outside the steps');
    // (The run directory may be named relative to where xenbridge runs: only the record's own name is known.)
    if (j.batch !== undefined && !/(?:^|\/)batch-(?:[0-9a-f]{12}-)?\d{1,6}$/.test(j.batch)) throw new ShapeError('batch is not a batch record of the run directory');
    // One vif batch names up to 1024 vifs.
    if (!/^[\x20-\x7e]{1,100000}$/.test(j.what)) throw new ShapeError('what should be one line of printable text');
    return j;
  },
  fix: 'xenbridge cannot tell what that run changed: compare "xenbridge show" with the file, put the network right by hand, then delete the journal',
};

export interface History {
  started: string;
  steps: Step[];
  /** The journal id of the last run committed here. */
  committed?: string;
}

export const HISTORY: RecordKind<History> = {
  what: 'history of applied changes that stop undoes',
  since: 2,
  migrate: (v) => withV1Steps(v),
  check: object({ started: str, steps: list(stepCheck), committed: optional(str) }),
  fix: 'stop cannot know what to undo: move the file away, then restore the network by hand (or reboot) and apply again',
};

export type OnDemand = Record<string, Step[]>;

export const ON_DEMAND: RecordKind<{ bridges: OnDemand; committed?: string }> = {
  what: 'record of VLAN bridges made on demand by the vif hook',
  check: object({ bridges: record(list(stepCheck)), committed: optional(str) }),
  since: 2,
  // Before versions the file was the bridges alone.
  migrate: (v, version) => {
    const r = (version === 0 ? { bridges: v } : v) as { bridges?: unknown };
    const b = r.bridges;
    return { ...r, bridges: typeof b === 'object' && b !== null && !Array.isArray(b) ? Object.fromEntries(Object.entries(b).map(([k, x]) => [k, stepsOfV1(x)])) : b };
  },
  fix: 'stop cannot undo those bridges: delete the file, then remove unused xenbr*.N bridges by hand',
};

export const journalFile = (dir: string): string => join(dir, 'journal.json');
export const historyFile = (dir: string): string => join(dir, 'history.json');
export const onDemandFile = (dir: string): string => join(dir, 'on-demand.json');
