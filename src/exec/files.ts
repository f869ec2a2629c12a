/**
 * The files xenbridge keeps for itself (its run directory's records, lock and batch records, the
 * topology cache): read only when they are what it writes there, a regular file of a sane size, and
 * written whole or not at all. A FIFO put in a record's place would hang every command on its read,
 * /dev/zero would fill memory, and a write a full tmpfs cuts short returns a count, not an error.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';

/** Far more than any record holds: the history of thousands of applies is a few MB. */
export const MAX_RECORD_BYTES = 64 << 20;

const fail = (code: string, message: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

/**
 * The text of file, or undefined when there is none. A symlink, FIFO, device or directory in its
 * place, or a file over max, is an error (codes ESYMLINK, ENOTREG, EFBIG) and is never opened or
 * read: opening a device can act on it, and reading a FIFO waits for a writer.
 */
export const readRegular = (file: string, max = MAX_RECORD_BYTES): string | undefined => {
  let st;
  try {
    st = lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (st.isSymbolicLink()) throw fail('ESYMLINK', 'it is a symbolic link, which xenbridge never makes there');
  if (!st.isFile()) throw fail('ENOTREG', 'it is not a regular file');
  // Opened without following a link and without waiting: what is opened may not be what lstat saw.
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const now = fstatSync(fd);
    if (!now.isFile()) throw fail('ENOTREG', 'it is not a regular file');
    if (now.size > max) throw fail('EFBIG', `it is larger (${now.size} bytes) than any file xenbridge writes there`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
};

/** A record of our own (a batch's status, output or pid): undefined when it is missing or not one we write. */
export const readRecordText = (file: string): string | undefined => {
  try {
    return readRegular(file);
  } catch {
    return undefined;
  }
};

/** Writes all of text at fd or throws: a short write (a full tmpfs) is retried, and then fails with ENOSPC. */
export const writeAll = (fd: number, text: string): void => {
  const buf = Buffer.from(text, 'utf8');
  for (let off = 0; off < buf.length;) {
    const n = writeSync(fd, buf, off, buf.length - off);
    if (n <= 0) throw fail('ENOSPC', 'no space left on device');
    off += n;
  }
};

/** The names in one of our directories; none when it does not exist or cannot be read (nothing to act on there). */
export const namesIn = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

