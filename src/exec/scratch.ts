/**
 * A child's stdout as a file instead of a pipe, for outputs of megabytes (`ip -j -d link show` of
 * thousands of links): the file is read once at the end, where a pipe hands the output over in
 * thousands of small chunks, which at 3 MB cost this process 15-20 ms more CPU than the file.
 * The file is unlinked as soon as it is open, so a kill -9 leaves nothing behind.
 */
import { closeSync, fstatSync, openSync, readSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

let made = 0;

/** An open, already unlinked file in dir for a child's stdout; undefined when none can be made there (the caller uses a pipe). */
export const scratchFd = (dir: string | undefined): number | undefined => {
  if (dir === undefined) return undefined;
  const path = join(dir, `.stdout-${process.pid}-${++made}`);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'wx+', 0o600);
    unlinkSync(path);
    return fd;
  } catch {
    if (fd !== undefined) closeSync(fd);
    return undefined;
  }
};

/**
 * What the child wrote, and the file closed. The child advanced the shared offset, so the file is
 * read from its start. A full file system cuts the output short without the child noticing: callers
 * that cannot tell a whole output from a cut one must not use a file.
 */
export const takeScratch = (fd: number): string => {
  try {
    const buf = Buffer.allocUnsafe(fstatSync(fd).size);
    let at = 0;
    while (at < buf.length) {
      const n = readSync(fd, buf, at, buf.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return buf.toString('utf8', 0, at);
  } finally {
    closeSync(fd);
  }
};
