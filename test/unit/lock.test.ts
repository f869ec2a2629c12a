import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseHolder, startTime, withLock } from '../../src/txn/lock.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xenbridge-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lockFile = (): string => join(dir, 'lock');
const old = (file: string): void => utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
const take = (limitMs = 5000): Promise<string> => withLock(dir, async () => readFileSync(lockFile(), 'utf8'), limitMs);

/** A live process other than this one, and its start time as the lock records it. */
const sleeper = (): { pid: number; start: string; kill: () => void } => {
  const c = spawn('sleep', ['30'], { stdio: 'ignore' });
  if (c.pid === undefined) throw new Error('cannot start sleep');
  return { pid: c.pid, start: startTime(c.pid) ?? '?', kill: () => c.kill('SIGKILL') };
};

describe('the run-directory lock', () => {
  it("removes the temporary files of holders killed before they removed them, and no live one's", async () => {
    const dead = spawn('true');
    await new Promise((r) => dead.on('exit', r));
    const live = sleeper();
    try {
      const leftovers = [`lock.${dead.pid}.new`, `lock.break.${dead.pid}.new`];
      for (const f of [...leftovers, `lock.${live.pid}.new`, 'lock.x.new']) writeFileSync(join(dir, f), '');
      await take();
      expect(leftovers.map((f) => existsSync(join(dir, f)))).toEqual([false, false]);
      expect([`lock.${live.pid}.new`, 'lock.x.new'].map((f) => existsSync(join(dir, f)))).toEqual([true, true]);
    } finally {
      live.kill();
    }
  });

  it('names its holder by pid and start time, and is gone once released', async () => {
    expect(parseHolder(await take())).toEqual({ pid: process.pid, start: startTime(process.pid) });
    expect(existsSync(lockFile())).toBe(false);
  });

  it.each([
    ['empty (a crash between creating and writing it)', ''],
    ['garbage', 'not a pid\n'],
    ['a pid and nothing else (an older xenbridge)', '1\n'],
  ])('an %s lock is broken once older than a crash window', async (_n, text) => {
    writeFileSync(lockFile(), text);
    old(lockFile());
    expect(parseHolder(await take())?.pid).toBe(process.pid);
  });

  it('a fresh empty lock is not broken at once: its maker may be alive and about to write', async () => {
    writeFileSync(lockFile(), '');
    const t0 = Date.now();
    await take();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
  });

  it('a dead holder is broken at once, and so is a live pid whose start time differs (pid reused)', async () => {
    const s = sleeper();
    s.kill();
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(lockFile(), `${s.pid} ${s.start}\n`);
    expect(parseHolder(await take(1000))?.pid).toBe(process.pid);
    const live = sleeper();
    try {
      writeFileSync(lockFile(), `${live.pid} 1\n`);
      expect(parseHolder(await take(1000))?.pid).toBe(process.pid);
    } finally {
      live.kill();
    }
  });

  it('a live holder is waited for, then named', async () => {
    const s = sleeper();
    try {
      writeFileSync(lockFile(), `${s.pid} ${s.start}\n`);
      old(lockFile());
      await expect(take(300)).rejects.toMatchObject({ kind: 'lock', message: expect.stringMatching(new RegExp(`^pid ${s.pid} \\(30\\) has held .*/lock for over 0 s$`)) });
      expect(readFileSync(lockFile(), 'utf8')).toBe(`${s.pid} ${s.start}\n`);
      setTimeout(() => rmSync(lockFile()), 200);
      expect(parseHolder(await take(5000))?.pid).toBe(process.pid);
    } finally {
      s.kill();
    }
  });

  it('two waiters breaking the same stale lock: one holds it at a time', async () => {
    writeFileSync(lockFile(), '999999 1\n');
    let inside = 0;
    let most = 0;
    const job = () => withLock(dir, async () => {
      most = Math.max(most, ++inside);
      await new Promise((r) => setTimeout(r, 20));
      inside--;
    }, 5000);
    await Promise.all(Array.from({ length: 8 }, job));
    expect(most).toBe(1);
  });
});
