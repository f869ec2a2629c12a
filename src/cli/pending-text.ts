/** How a pending (apply --confirm) change is shown: after apply, and in status. */
import type { Pending, PendingStatus } from '../txn/pending.js';
import { XbError } from '../errors.js';

export const DEFAULT_CONFIRM_SECONDS = 120;

export const parseSeconds = (value: string, flag: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 86_400) throw new XbError('usage', `${flag} must be a whole number of seconds from 1 to 86400, got "${value}"`);
  return n;
};

const nsFlag = (netns: string | undefined): string => (netns === undefined ? '' : ` --netns ${netns}`);

export const confirmHowTo = (p: Pending, netns: string | undefined): string =>
  [
    `applied ${p.steps.length} change(s) from ${p.source} as change ${p.id}`,
    `they are reverted in ${p.seconds} s (at ${p.deadline}) unless confirmed:`,
    `  xenbridge confirm${nsFlag(netns)}     # from a new SSH session: keep them`,
    `  xenbridge rollback${nsFlag(netns)}    # revert them now`,
  ].join('\n');

const timerText = (s: PendingStatus): string => {
  const t = s.timer;
  if (!t) return 'no revert timer was started';
  if (t.kind === 'systemd') return `revert timer: systemd unit ${t.unit}`;
  return t.running === false ? `revert timer pid ${t.pid} is NOT running: run "xenbridge rollback" or "xenbridge confirm"` : `revert timer: pid ${t.pid}`;
};

/** A pending change whose revert timer process is gone: nothing will revert it at its deadline. */
export const timerLost = (s: PendingStatus | undefined): boolean => s?.orphan === true || (s?.timer?.kind === 'process' && s.timer.running === false);

export const pendingLines = (s: PendingStatus | undefined): string[] => {
  if (s === undefined) return [];
  const what = s.applied ? `change ${s.id} (${s.changes} change(s) from ${s.source})` : `change ${s.id} from ${s.source}, interrupted while being applied,`;
  const first = timerLost(s)
    ? `pending: ${what} is NOT reverted at its deadline: its revert timer is gone`
    : s.applied
      ? `pending: ${what} is reverted in ${s.secondsLeft} s unless "xenbridge confirm" runs`
      : `pending: change ${s.id} from ${s.source} was interrupted while being applied; it is reverted in ${s.secondsLeft} s, or now by "xenbridge rollback"`;
  return [first, `  ${timerText(s)}`];
};
