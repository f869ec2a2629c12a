/**
 * Reads a file a person names (-c, compat inputs) as a small regular file: a FIFO with no writer
 * must not hang us, /dev/zero must not fill memory, a directory must not be "not valid YAML".
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { XbError, type ErrorKind } from '../errors.js';

/** A topology is a few kilobytes. */
export const TOPOLOGY_MAX_BYTES = 256 * 1024;
/** `show --format json` of a host with thousands of links. */
export const HOST_DUMP_MAX_BYTES = 16 * 1024 * 1024;

const typeOf = (st: Stats): string =>
  st.isDirectory() ? 'a directory'
    : st.isFIFO() ? 'a FIFO'
      : st.isCharacterDevice() ? 'a character device'
        : st.isBlockDevice() ? 'a block device'
          : st.isSocket() ? 'a socket'
            : 'not a regular file';

export const readSmallFile = (file: string, opts: { maxBytes: number; kind: ErrorKind; what: string; hint?: string }): string => {
  const fail = (msg: string, cause?: unknown): XbError =>
    new XbError(opts.kind, msg, { detail: opts.hint ? [opts.hint] : [], cause });
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw fail(`cannot read ${opts.what} ${file}${code ? ` (${code})` : ''}`, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw fail(`${opts.what} ${file} is ${typeOf(st)}, not a regular file`);
    if (st.size > opts.maxBytes) throw fail(`${opts.what} ${file} is ${st.size} bytes: more than the ${opts.maxBytes} a ${opts.what} may have`);
    // Read at most one byte past the limit: the file may grow while we read it.
    const buf = Buffer.alloc(opts.maxBytes + 1);
    let got = 0;
    for (let n = 1; n > 0 && got < buf.length; got += n) n = readSync(fd, buf, got, buf.length - got, null);
    if (got > opts.maxBytes) throw fail(`${opts.what} ${file} grew past ${opts.maxBytes} bytes while it was read`);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, got));
    } catch (e) {
      throw fail(`${opts.what} ${file} is not UTF-8 text`, e);
    }
  } finally {
    closeSync(fd);
  }
};

export const readTopologyText = (file: string): string => readSmallFile(file, {
  maxBytes: TOPOLOGY_MAX_BYTES,
  kind: 'config',
  what: 'topology file',
  hint: 'give the file with -c FILE or XENBRIDGE_CONFIG; the default is /etc/xenbridge/topology.yaml',
});
