/** How results and errors reach a person (one clear line, then detail) or a program (--json). */
import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { EXIT_CODES, isXbError, problemLines, XbError } from '../errors.js';
import { fsReason } from '../exec/dirs.js';

/**
 * A reader that went away (`| head`, a closed pipe, a log collector that died) stops nothing: what
 * was to be printed is dropped and the command runs on to its own exit code; an apply must not
 * stop halfway because nobody reads it. Unhandled, the EPIPE would reach the error handler, whose
 * report writes to the same stream: a loop at full CPU. For the hook service, whose library code
 * logs through process.stderr for as long as it runs; everything else prints through writeFd.
 */
export const ignoreClosedOutput = (): void => {
  for (const s of [process.stdout, process.stderr]) if (s.listenerCount('error') === 0) s.on('error', () => undefined);
};

const gone = new Set<number>();
/** The first write that failed but for a reader gone: where, and why. */
let lost: string | undefined;

/** "standard output: no space left", when some output could not be written (a file on a full disk). */
export const lostOutput = (): string | undefined => lost;

/** A terminal, or some other character device but the memory ones (/dev/null, /dev/full: major 1). */
const terminal = (fd: number): boolean => {
  try {
    const st = fstatSync(fd);
    return st.isCharacterDevice() && Math.floor(st.rdev / 256) % 4096 !== 1;
  } catch {
    return false;
  }
};

/**
 * The terminal hung up (SIGHUP): nothing more is shown there (a write to it fails with EIO, which is
 * no failure of the command), and its descriptors are moved to /dev/null. Node 20 restores a
 * terminal's settings at exit and aborts when it cannot (nodejs/node#51519); it leaves alone a
 * descriptor that no longer names the file it found at start. Files and pipes keep what they get.
 */
export const hungUp = (): void => {
  for (const fd of [0, 1, 2]) {
    if (!terminal(fd)) continue;
    gone.add(fd);
    try {
      closeSync(fd);
      // The lowest free number: fd itself, unless another thread took it first (then it is not ours).
      const n = openSync('/dev/null', fd === 0 ? 'r' : 'w');
      if (n !== fd) closeSync(n);
    } catch {
      // the descriptor stays as it was, and unused
    }
  }
};

/**
 * Everything a command prints goes through here, written at once: process.stdout's stream object
 * for a pipe cost a command about 5 ms natively and 25 ms under emulation before it printed a line.
 * EAGAIN (a non-blocking descriptor a parent handed down) waits a millisecond and tries again; EPIPE
 * (the reader went away) or EIO on a terminal (it hung up) drops everything after, as above; any
 * other error (ENOSPC: a log file on a full /run, the revert timer's) drops only this text, and a
 * later line is tried again. Such a loss fails the command at its end (run.ts): a script must not
 * take an empty report for a whole one.
 */
export const writeFd = (fd: 1 | 2, text: string): void => {
  if (gone.has(fd)) return;
  const buf = Buffer.from(text, 'utf8');
  for (let off = 0, waits = 0; off < buf.length;) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN' && waits++ < 10_000) {
        // Made here, not at load: the CLI's startup snapshot would have to hold it.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        continue;
      }
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE' || (code === 'EIO' && terminal(fd))) gone.add(fd);
      else lost ??= `${fd === 1 ? 'standard output' : 'standard error'}: ${fsReason(e)}`;
      return;
    }
  }
};

export const out = (text: string): void => writeFd(1, text.endsWith('\n') ? text : `${text}\n`);

/** A line for stderr (notes, warnings). */
export const err = (line: string): void => writeFd(2, `${line}\n`);

export const json = (value: unknown): void => out(JSON.stringify(value, null, 2));

export const errorJson = (e: XbError): object => ({
  ok: false,
  error: { kind: e.kind, message: e.message, detail: e.detail, problems: e.problems },
});

let debug = false;
/** --debug or XENBRIDGE_DEBUG=1: unexpected errors print their stack. */
export const setDebug = (on: boolean): void => {
  debug = on;
};

const stackOf = (e: unknown): string[] => {
  const cause = (e as { cause?: unknown })?.cause;
  const own = (e as Error)?.stack?.split('\n') ?? [];
  return cause instanceof Error && cause !== e ? [...own, 'caused by:', ...stackOf(cause)] : own;
};

/** An error no check expected: one line that says so, the stack only when asked for. */
const asBug = (e: unknown): XbError => {
  const inner = isXbError(e) ? (e.cause ?? e) : e;
  const msg = isXbError(e) ? e.message : `unexpected error: ${String((e as Error)?.message ?? e).split('\n')[0]}`;
  return new XbError('bug', msg, {
    detail: [
      ...(isXbError(e) ? e.detail : []),
      'this is a bug in xenbridge: please report it to the xenbridge project with the command and this output',
      ...(debug ? stackOf(inner) : ['run with --debug (or XENBRIDGE_DEBUG=1) to see where it happened']),
    ],
  });
};

/** Prints the error and returns the exit code for its kind. */
export const report = (e: unknown, asJson: boolean): number => {
  const problem = isXbError(e) && e.kind !== 'bug' ? e : asBug(e);
  if (asJson) json(errorJson(problem));
  else {
    const lines = [...problemLines(problem.problems), ...problem.detail].filter((l) => l !== '').map((l) => l.replace(/[\r\n]+/g, ' '));
    writeFd(2, `xenbridge: ${problem.message.replace(/[\r\n]+/g, ' ')}\n${lines.map((l) => `  ${l}\n`).join('')}`);
  }
  return EXIT_CODES[problem.kind];
};

/** A terminal gets marks; a file, a pipe or /dev/null gets words. */
export const tick = (ok: boolean): string => (terminal(1) ? (ok ? '✓' : '✗') : ok ? 'ok' : 'FAIL');
