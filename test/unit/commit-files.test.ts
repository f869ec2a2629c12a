import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitFiles, committedFilesId, finishCommitFiles, type FileOp } from '../../src/txn/commit-files.js';
import { journalFile, type Journal } from '../../src/txn/execute.js';
import { recoverLocked } from '../../src/txn/recover-run.js';
import { recordText, writeRecord } from '../../src/txn/store.js';
import { createRunner } from '../../src/exec/runner.js';
import { forgetOps, readGuardRecord, readRetiredRecord, retireOps, saveOps } from '../../src/apply/guard-records.js';
import { setUp } from '../../src/plan/steps.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xenbridge-commitfiles-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const g = (dev: string, mac: string) => ({ dev, mac });
const put = (path: string, text: string): void => {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), text);
};
const journal = (id: string): Journal => ({ id, pid: 4242, started: '2026-01-01T00:00:00.000Z', what: 'vif vif5.0', steps: [setUp('vif5.0', true)], done: 1 });

describe('a run\'s record files, changed at its commit', () => {
  it('are written, renamed and removed, and running the list again changes nothing', () => {
    put('guards/vif1.0.json', recordText(g('vif1.0', '00:16:3e:00:01:00')));
    put('guards/retired/vif2.0.json', recordText(g('vif2.0', '00:16:3e:00:02:00')));
    const ops: FileOp[] = [...retireOps('vif1.0'), ...saveOps(g('vif2.0', '00:16:3e:00:22:00')), ...forgetOps('vif3.0')];
    commitFiles(dir, 'run-1', ops);
    const after = (): unknown[] => [readGuardRecord(dir, 'vif1.0'), readRetiredRecord(dir, 'vif1.0'), readGuardRecord(dir, 'vif2.0'), readRetiredRecord(dir, 'vif2.0')];
    const want = [undefined, g('vif1.0', '00:16:3e:00:01:00'), g('vif2.0', '00:16:3e:00:22:00'), undefined];
    expect(after()).toEqual(want);
    expect(committedFilesId(dir)).toBe('run-1');
    finishCommitFiles(dir, 'run-1');
    expect(after()).toEqual(want);
  });

  it('a commit whose files are all absent writes no list', () => {
    commitFiles(dir, 'run-2', [...forgetOps('vif9.0'), ...retireOps('vif9.0')]);
    expect(existsSync(join(dir, 'commit-files.json'))).toBe(false);
  });

  it('a crash after the list, before the files: the recovery that finds the run committed finishes them and keeps the kernel change', async () => {
    put('guards/retired/web1.json', recordText(g('web1', '00:16:3e:00:05:00')));
    // What commitFiles writes first; the kill lands before any file changes.
    writeRecord(join(dir, 'commit-files.json'), { id: 'run-3', ops: saveOps(g('web1', '00:16:3e:00:06:00')) });
    writeRecord(journalFile(dir), journal('run-3'));
    // A committed run is not undone: the runner is never asked to run anything.
    const r = await recoverLocked(createRunner('xb-never-exists'), dir, { onlyVif: true });
    expect(r.undone).toBe(0);
    expect([readGuardRecord(dir, 'web1'), readRetiredRecord(dir, 'web1')]).toEqual([g('web1', '00:16:3e:00:06:00'), undefined]);
    expect([existsSync(journalFile(dir)), existsSync(join(dir, 'commit-files.json'))]).toEqual([false, false]);
  });

  it('another run\'s list is not replayed', () => {
    writeRecord(join(dir, 'commit-files.json'), { id: 'run-4', ops: forgetOps('vif1.0') });
    put('guards/vif1.0.json', recordText(g('vif1.0', '00:16:3e:00:01:00')));
    finishCommitFiles(dir, 'run-5');
    expect(readGuardRecord(dir, 'vif1.0')).toEqual(g('vif1.0', '00:16:3e:00:01:00'));
  });

  it('a list naming a path outside the run directory is refused, naming the file', () => {
    for (const path of ['../etc/passwd', '/etc/passwd', 'guards/../../x', 'a//b']) {
      writeFileSync(join(dir, 'commit-files.json'), JSON.stringify({ version: 2, id: 'run-6', ops: [{ op: 'remove', path }] }));
      expect(() => finishCommitFiles(dir, 'run-6')).toThrow(/commit-files\.json .*cannot be read: ops\[0\]\.path should be a path inside the run directory/);
    }
    expect(readFileSync(join(dir, 'commit-files.json'), 'utf8')).toContain('a//b');
  });
});
