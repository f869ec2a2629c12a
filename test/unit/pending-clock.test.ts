/** A pending change's deadline runs on this boot's clock, and its timer is known by pid and start time. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { dueIn, msLeft } from '../../src/txn/clock.js';
import { runningSince } from '../../src/state/processes.js';
import { timerRuns } from '../../src/txn/timer.js';

describe('the deadline of a pending change', () => {
  it('set in this boot, follows the boot clock whatever the wall clock says', () => {
    const due = dueIn(30);
    const hourAgo = new Date(Date.now() - 3600_000).toISOString();
    const inAnHour = new Date(Date.now() + 3600_000).toISOString();
    for (const deadline of [hourAgo, inAnHour]) {
      const left = msLeft({ deadline, due }, Date.now());
      expect(left).toBeGreaterThan(29_000);
      expect(left).toBeLessThanOrEqual(30_000);
    }
  });

  it('set in another boot (or by an older xenbridge), follows the wall clock', () => {
    const deadline = new Date(Date.now() + 10_000).toISOString();
    const now = Date.now();
    for (const due of [undefined, { boot: 'another-boot', ms: 1 }]) expect(msLeft({ deadline, due }, now)).toBe(Date.parse(deadline) - now);
  });
});

describe('the revert timer process', () => {
  it('is running only while the same process (pid and start time) runs', async () => {
    const c = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const since = runningSince(c.pid!);
      expect(since).toMatch(/^\d+$/);
      expect([timerRuns({ pid: c.pid! }), timerRuns({ pid: c.pid!, since }), timerRuns({ pid: c.pid!, since: `${since}0` })]).toEqual([true, true, false]);
    } finally {
      c.kill('SIGKILL');
    }
  });
});
