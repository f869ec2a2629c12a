import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJournal, type Journal } from '../../src/txn/execute.js';
import { journalFile } from '../../src/txn/records.js';
import { recordText } from '../../src/txn/store.js';
import { describeInterrupted, guardUncertain, settle } from '../../src/txn/recover.js';
import { recordFiles } from '../../src/exec/runner.js';
import { addVeth, rename, setUp } from '../../src/plan/steps.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xenbridge-recover-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const steps = [setUp('eth0', false), rename('eth0', 'peth0'), addVeth('eth0', { peer: 'xenbr0-d0' }), setUp('eth0', true), setUp('peth0', true)];
const journal = (over: Partial<Journal> = {}): Journal => ({
  pid: 4242, started: '2025-01-01T00:00:00.000Z', what: 'apply', steps, done: 1, inflight: [1, 5], batch: join(dir, 'batch-1'), ...over,
});
const record = (files: Partial<Record<'lines' | 'pid' | 'out' | 'rc', string>>): void => {
  const f = recordFiles(join(dir, 'batch-1'));
  for (const [k, v] of Object.entries(files)) writeFileSync(f[k as keyof typeof f], v);
};

describe('settling an interrupted run from its batch record', () => {
  it('no batch in flight: the journal says it all', () => {
    expect(settle(journal({ inflight: undefined, done: 3 }))).toEqual({ done: 3, uncertain: 0, running: false });
  });

  it('the shell never started: nothing of the batch ran', () => {
    expect(settle(journal())).toEqual({ done: 1, uncertain: 0, running: false });
  });

  it('the batch finished: every line it was given ran', () => {
    record({ lines: 'a\nb\n', pid: '1', out: '', rc: '0\n' });
    expect(settle(journal())).toEqual({ done: 3, uncertain: 0, running: false });
  });

  it('the batch failed: the lines before the one ip names ran', () => {
    record({ lines: 'a\nb\nc\nd\n', pid: '1', out: `RTNETLINK answers: File exists\nCommand failed ${dir}/batch-1.batch:3\n`, rc: '1\n' });
    expect(settle(journal())).toEqual({ done: 3, uncertain: 0, running: false });
  });

  it('the batch was killed (pid recorded, no status): its lines are uncertain', () => {
    record({ lines: 'a\nb\nc\nd\n', pid: '999999999' });
    const s = settle(journal());
    expect(s).toEqual({ done: 1, uncertain: 4, running: false });
    expect(describeInterrupted(journal(), s)).toBe('apply by pid 4242 at 2025-01-01T00:00:00.000Z was interrupted after 1 of 5 steps (4 more may have run)');
  });

  it('a run directory named relative to the crashed run\'s working directory: its batch record is found in the run directory', () => {
    record({ lines: 'a\nb\n', pid: '1', out: '', rc: '0\n' });
    writeFileSync(journalFile(dir), recordText(journal({ batch: 'some/other/cwd/run/host/batch-1' })));
    const j = readJournal(dir)!;
    expect(j.batch).toBe(join(dir, 'batch-1'));
    expect(settle(j)).toEqual({ done: 3, uncertain: 0, running: false });
  });

  it('the batch is still running: settle says so (recovery waits for it)', () => {
    record({ lines: 'a\n', pid: String(process.pid) });
    expect(settle(journal()).running).toBe(true);
  });
});

describe('undo of uncertain steps', () => {
  const uncertain = steps.map((s, i) => (i >= 1 ? { ...s, uncertain: true as const } : s));
  it('drops the undo lines aimed at a name a rename that never ran still holds (the NIC): no delete, no down', () => {
    const guarded = guardUncertain(uncertain, new Set(['lo', 'eth0']));
    expect(guarded[2]?.undo).toEqual([]);
    expect(guarded[3]?.undo).toEqual([]);
    expect(guarded.filter((_, i) => i !== 2 && i !== 3)).toEqual(uncertain.filter((_, i) => i !== 2 && i !== 3));
  });
  it('keeps it once the rename did run (the renamed link exists)', () => {
    expect(guardUncertain(uncertain, new Set(['lo', 'peth0', 'eth0']))).toEqual(uncertain);
  });
  it('never touches certain steps', () => {
    const certain = steps.map((s) => ({ ...s }));
    expect(guardUncertain(certain, new Set(['lo']))).toEqual(certain);
  });
});
