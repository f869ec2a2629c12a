/** The records of the run directory: their shapes, and what to do when one cannot be read. */
import { join } from 'node:path';
import type { Step } from '../plan/steps.js';
import { ShapeError, bool, int, list, object, oneOf, optional, record, str, type Check } from './shape.js';
import type { RecordKind } from './store.js';

const tool = oneOf('ip', 'bridge', 'nft', 'dhcp');
const line = object({ tool, line: str });

const uncertain: Check<true | undefined> = (v, at) => (optional(bool)(v, at) === true ? true : undefined);

export const stepCheck: Check<Step> = object({ tool, line: str, undo: list(line), uncertain });

const pair: Check<[number, number]> = (v, at) => {
  const [a, b] = list(int)(v, at);
  if (a === undefined || b === undefined || a > b) throw new ShapeError(`${at} should be [from, to]`);
  return [a, b];
};

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
  check: (v, at) => {
    const j = journalShape(v, at);
    if (j.done > j.steps.length) throw new ShapeError('done is past the last step');
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
  check: object({ started: str, steps: list(stepCheck), committed: optional(str) }),
  fix: 'stop cannot know what to undo: move the file away, then restore the network by hand (or reboot) and apply again',
};

export type OnDemand = Record<string, Step[]>;

export const ON_DEMAND: RecordKind<{ bridges: OnDemand; committed?: string }> = {
  what: 'record of VLAN bridges made on demand by the vif hook',
  check: object({ bridges: record(list(stepCheck)), committed: optional(str) }),
  fromUnversioned: (v) => ({ bridges: v }),
  fix: 'stop cannot undo those bridges: delete the file, then remove unused xenbr*.N bridges by hand',
};

export const journalFile = (dir: string): string => join(dir, 'journal.json');
export const historyFile = (dir: string): string => join(dir, 'history.json');
export const onDemandFile = (dir: string): string => join(dir, 'on-demand.json');
