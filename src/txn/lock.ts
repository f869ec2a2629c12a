/**
 * One lock per namespace, shared by apply, stop, rollback, confirm, the revert timer and every vif
 * hook. Node has no flock, so the lock is a file naming its holder by pid AND start time (field 22
 * of /proc/<pid>/stat): a holder that died (kill -9, crash) is known dead even once its pid is
 * reused, with no helper process on the hook's hot path. The file is written whole before it
 * appears (link(2) of a finished temporary file), so a live holder never leaves it empty; an empty
 * or unreadable one is a crash's leftover (or an older xenbridge's) and is broken after a short
 * grace. Breaking is serialised by a second lock, so two waiters cannot both break, one of them
 * the lock the other has just taken.
 */
import { closeSync, linkSync, lstatSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { XbError } from '../errors.js';
import { namesIn, readRegular, writeAll } from '../exec/files.js';
import { running, runningSince } from '../state/processes.js';
import { monoMs } from './clock.js';
import { ensureDir, fsError } from './store.js';

/** A zombie is not alive: a holder killed -9 frees its lock before it is reaped. */
export const alive = (pid: number): boolean => running(pid);

/** Start time of a process in clock ticks since boot, or undefined when it does not run (any more). */
export const startTime = (pid: number): string | undefined => runningSince(pid);

const me = (): string => `${process.pid} ${startTime(process.pid) ?? '?'}\n`;

export interface Holder {
  pid: number;
  start: string;
}

/** The holder a lock file names, or undefined when it names none (empty, garbage). */
export const parseHolder = (text: string): Holder | undefined => {
  const m = /^(\d+) (\d+|\?)\n$/.exec(text);
  return m && Number(m[1]) > 0 ? { pid: Number(m[1]), start: m[2] ?? '?' } : undefined;
};

export const holderAlive = (h: Holder): boolean => (h.start === '?' ? alive(h.pid) : startTime(h.pid) === h.start);

const GRACE_MS = 2000;

/** A FIFO, device or symlink in the lock's place names no holder (''), and is broken as garbage is. */
const readText = (file: string): string | undefined => {
  try {
    return readRegular(file, 4096);
  } catch (e) {
    return ['ENOTREG', 'ESYMLINK', 'EFBIG'].includes((e as NodeJS.ErrnoException).code ?? '') ? '' : undefined;
  }
};

const ageMs = (file: string): number => {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return 0;
  }
};

/** Stale: its holder is dead, or it names no holder and is older than a crash's window. */
const stale = (file: string, text: string): boolean => {
  const h = parseHolder(text);
  return h ? !holderAlive(h) : ageMs(file) > GRACE_MS;
};

const tryCreate = (file: string, content: string): boolean => {
  const tmp = `${file}.${process.pid}.new`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeAll(fd, content);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw fsError(e, 'take the lock', file);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
  }
};

const unlinkIf = (file: string, text: string): void => {
  if (readText(file) !== text) return;
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
};

/** Removes the lock if it is stale, under the breaking lock (itself broken when stale). */
const breakIfStale = (file: string): void => {
  const text = readText(file);
  if (text === undefined || !stale(file, text)) return;
  const breaker = `${file}.break`;
  if (!tryCreate(breaker, me())) {
    const b = readText(breaker);
    if (b !== undefined && stale(breaker, b)) unlinkIf(breaker, b);
    return;
  }
  try {
    unlinkIf(file, text);
  } finally {
    unlinkIf(breaker, me());
  }
};

/** The live process holding dir's lock, if any. */
export const lockHolder = (dir: string): Holder | undefined => {
  const text = readText(join(dir, 'lock'));
  const h = text === undefined ? undefined : parseHolder(text);
  return h && holderAlive(h) ? h : undefined;
};

const describeHolder = (file: string): string => {
  const text = readText(file);
  const h = text === undefined ? undefined : parseHolder(text);
  if (!h) return `an unidentified process (${file} is ${text === undefined ? 'gone' : 'not a lock this xenbridge wrote'})`;
  const cmd = (readText(`/proc/${h.pid}/cmdline`) ?? '').split('\0').filter((a) => a !== '').slice(1).join(' ');
  return `pid ${h.pid}${cmd ? ` (${cmd})` : ''}`;
};

const isDir = (file: string): boolean => {
  try {
    return lstatSync(file).isDirectory();
  } catch {
    return false;
  }
};

/**
 * A holder killed -9 between writing its temporary file and removing it leaves `lock.PID.new` (or
 * `lock.break.PID.new`) behind: whoever holds the lock next removes, as it lets go, those whose
 * process is gone.
 */
const sweep = (dir: string): void => {
  for (const n of namesIn(dir)) {
    const pid = Number(/^lock(?:\.break)?\.(\d+)\.new$/.exec(n)?.[1] ?? 0);
    if (pid === 0 || pid === process.pid || alive(pid)) continue;
    try {
      unlinkSync(join(dir, n));
    } catch {
      // another holder's sweep, or gone
    }
  }
};

export const withLock = async <T>(dir: string, fn: () => Promise<T>, limitMs: number): Promise<T> => {
  const file = join(ensureDir(dir), 'lock');
  const mine = me();
  // The wait on the monotonic clock: a wall clock stepped back would stretch it.
  const start = monoMs();
  let wait = 5;
  while (!tryCreate(file, mine)) {
    if (isDir(file)) throw new XbError('state', `${file} is a directory, not a lock xenbridge made`, { detail: ['remove it, then run the command again'] });
    breakIfStale(file);
    if (monoMs() - start > limitMs) {
      throw new XbError('lock', `${describeHolder(file)} has held ${file} for over ${Math.round(limitMs / 1000)} s`, {
        detail: ['wait for it to finish; a lock whose holder has died is broken automatically'],
      });
    }
    await sleep(wait + Math.random() * wait);
    wait = Math.min(wait * 2, 50);
  }
  try {
    return await fn();
  } finally {
    // At the end, still under the lock: a run's own first steps (its records) come before anything else it does there.
    sweep(dirname(file));
    unlinkIf(file, mine);
  }
};
