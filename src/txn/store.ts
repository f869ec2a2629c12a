/**
 * Files under /run/xenbridge/<scope>/: the lock, the in-flight journal, the history `stop` undoes,
 * a change waiting for confirm, on-demand VLANs. Every record carries a version and is checked on
 * read; every write is durable (fsync) before the kernel is touched on its strength.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { XbError } from '../errors.js';
import { fsReason } from '../exec/dirs.js';
import { readRegular, writeAll } from '../exec/files.js';
import { ShapeError, type Check } from './shape.js';

/**
 * The version of every record this xenbridge writes; files without one are from before versions.
 * 2: steps are typed ops (version 1 held batch lines).
 */
export const RECORD_VERSION = 2;

const code = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** Why a file operation failed, as a state error that says what to do about it. */
export const fsError = (e: unknown, doing: string, path: string): XbError => {
  if (e instanceof XbError) return e;
  return new XbError('state', `cannot ${doing} ${path}: ${fsReason(e)}`, {
    detail: [`xenbridge records every change under ${dirname(path)} before making it: that directory must be writable and have space`],
    cause: e,
  });
};

export const ensureDir = (dir: string): string => {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    // A recursive mkdir says ENOENT for a parent it could not create; the last level says why.
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (last) {
      throw fsError(code(last) === 'ENOENT' ? e : last, 'create', dir);
    }
  }
  return dir;
};

export const fsyncPath = (path: string, flags: string): void => {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
};

/** Write, fsync, rename, fsync the directory: a crash or power cut leaves the old file or the new one, whole. */
export const writeDurable = (file: string, text: string): void => {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeAll(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fsError(e, 'write', file);
  }
  // Renamed, the record is what every later read sees: reported as not written, its writer would
  // act as if it were not (undo a change the history already holds). Only a power cut could still
  // take it back now.
  try {
    fsyncPath(dirname(file), 'r');
  } catch {
    // kept as written
  }
};

export const recordText = (value: object): string => JSON.stringify({ version: RECORD_VERSION, ...value }, null, 1) + '\n';
export const writeRecord = (file: string, value: object): void => writeDurable(file, recordText(value));

export interface RecordKind<T> {
  /** What the file holds, for messages: "journal of an interrupted run". */
  what: string;
  check: Check<T>;
  /** What the admin can do when it cannot be read. */
  fix: string;
  /** The oldest version whose shape this kind reads as it is (default: any); 0 is a record without a version. */
  since?: number;
  /** Turns a record older than `since` into the current shape; without it, such a record is refused. */
  migrate?: (v: unknown, version: number) => unknown;
}

const unreadable = (file: string, kind: RecordKind<unknown>, why: string, e?: unknown): XbError =>
  new XbError('state', `${file} (the ${kind.what}) cannot be read: ${why}`, { detail: [kind.fix], cause: e });

/** The record in file, checked; undefined when there is none. Anything else is a clear state error. */
export const readRecord = <T>(file: string, kind: RecordKind<T>): T | undefined => {
  let text: string | undefined;
  try {
    text = readRegular(file);
  } catch (e) {
    throw unreadable(file, kind, fsReason(e), e);
  }
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw unreadable(file, kind, text.trim() === '' ? 'it is empty' : 'it is not JSON (truncated?)', e);
  }
  const mapping = typeof v === 'object' && v !== null && !Array.isArray(v);
  const version = mapping ? (v as { version?: unknown }).version : undefined;
  if (typeof version === 'number' && version > RECORD_VERSION) {
    throw unreadable(file, kind, `it was written by a newer xenbridge (record version ${version}; this one reads up to ${RECORD_VERSION})`);
  }
  if (version !== undefined && (typeof version !== 'number' || !Number.isInteger(version) || version < 1)) throw unreadable(file, kind, `unknown record version ${JSON.stringify(version)}`);
  const from = typeof version === 'number' ? version : 0;
  const stale = mapping && kind.since !== undefined && from < kind.since;
  if (stale && !kind.migrate) {
    throw unreadable(file, kind, `it was written by an older xenbridge (record ${version === undefined ? 'without a version' : `version ${version}`}; this one reads versions ${kind.since} to ${RECORD_VERSION})`);
  }
  try {
    return kind.check(stale && kind.migrate ? kind.migrate(v, from) : v, '');
  } catch (e) {
    if (e instanceof ShapeError) throw unreadable(file, kind, e.message, e);
    throw e;
  }
};

export const removeFile = (file: string): void => {
  try {
    rmSync(file, { force: true });
  } catch (e) {
    throw fsError(e, 'remove', file);
  }
};

const PAGE = 4096;
const pages = (bytes: number): number => Math.ceil(Math.max(bytes, 1) / PAGE) * PAGE;

/**
 * Refuses to start a run that could not record itself to the end: on a full /run the kernel would
 * change with no record of it. files: the sizes of the files the run will write (each may exist
 * twice for a moment, while its new version replaces it).
 */
export const ensureSpace = (dir: string, files: number[], what: string): void => {
  const need = files.reduce((n, b) => n + 2 * pages(b), 4 * PAGE);
  let free: number;
  try {
    const s = statfsSync(dir);
    free = s.bavail * s.bsize;
  } catch (e) {
    throw fsError(e, 'check the space in', dir);
  }
  if (free < need) {
    throw new XbError('state', `not enough space in ${dir} to record the ${what} (${Math.floor(free / 1024)} KiB free, ${Math.ceil(need / 1024)} KiB needed); nothing was changed`, {
      detail: ['free space there (df, then remove what is not xenbridge\'s), then run it again'],
    });
  }
};
