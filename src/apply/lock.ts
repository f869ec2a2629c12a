/**
 * One lock per namespace, shared by apply, stop, rollback and every vif hook. Node has no flock, so
 * the lock is an O_EXCL file holding the owner's pid; a lock whose owner is dead (kill -9, crash) is
 * broken by renaming it away, which only one waiter can win.
 */
import { openSync, closeSync, writeSync, readFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { XbError } from '../errors.js';
import { ensureDir } from './store.js';

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const ownerOf = (file: string): number | undefined => {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
};

const tryTake = (file: string): boolean => {
  try {
    const fd = openSync(file, 'wx', 0o600);
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
};

const breakIfStale = (file: string): void => {
  const pid = ownerOf(file);
  if (pid === undefined || alive(pid)) return;
  const aside = `${file}.stale.${process.pid}`;
  try {
    renameSync(file, aside);
  } catch {
    return;
  }
  const taken = ownerOf(aside);
  if (taken !== undefined && taken !== pid && alive(taken)) renameSync(aside, file);
  else rmSync(aside, { force: true });
};

export const withLock = async <T>(dir: string, fn: () => Promise<T>): Promise<T> => {
  const file = join(ensureDir(dir), 'lock');
  const limitMs = Number(process.env.XENBRIDGE_LOCK_TIMEOUT ?? 30) * 1000;
  const start = Date.now();
  let wait = 5;
  while (!tryTake(file)) {
    breakIfStale(file);
    if (Date.now() - start > limitMs) {
      throw new XbError('lock', `another xenbridge (pid ${ownerOf(file) ?? '?'}) has held ${file} for over ${limitMs / 1000} s`, {
        detail: ['wait for it to finish; if no xenbridge is running, delete the lock file'],
      });
    }
    await sleep(wait + Math.random() * wait);
    wait = Math.min(wait * 2, 50);
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(file);
    } catch {
      // already gone: nothing to release
    }
  }
};
