/**
 * The start of every run that may change the kernel: the lock, then every record the run relies on
 * read and checked, so a damaged one stops it with a clear error before anything changes.
 */
import { readHistory, readJournal } from './execute.js';
import { withLock } from './lock.js';
import { allOnDemand } from './on-demand.js';
import { readPending } from './pending.js';

export type RecordName = 'journal' | 'history' | 'pending' | 'on-demand';

const readers: Record<RecordName, (dir: string) => unknown> = {
  journal: readJournal,
  history: readHistory,
  pending: readPending,
  'on-demand': allOnDemand,
};

export const ALL_RECORDS: RecordName[] = ['journal', 'history', 'pending', 'on-demand'];

/** The vif hook relies on these alone: a damaged history must not stop guests from starting. */
export const HOOK_RECORDS: RecordName[] = ['journal', 'on-demand'];

export const withTxn = async <T>(dir: string, fn: () => Promise<T>, opts: { records?: RecordName[]; lockMs: number }): Promise<T> =>
  withLock(dir, async () => {
    for (const r of opts.records ?? ALL_RECORDS) readers[r](dir);
    return fn();
  }, opts.lockMs);
