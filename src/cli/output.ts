/** How results and errors reach a person (one clear line, then detail) or a program (--json). */
import { EXIT_CODES, isXbError, problemLines, XbError } from '../errors.js';

/**
 * A reader that went away (`| head`, a closed pipe, a log collector that died) stops nothing: what
 * was to be printed is dropped and the command runs on to its own exit code; an apply must not
 * stop halfway because nobody reads it. Unhandled, the EPIPE would reach the error handler, whose
 * report writes to the same stream: a loop at full CPU.
 */
export const ignoreClosedOutput = (): void => {
  for (const s of [process.stdout, process.stderr]) if (s.listenerCount('error') === 0) s.on('error', () => undefined);
};

export const out = (text: string): void => {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
};

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
  const err = isXbError(e) && e.kind !== 'bug' ? e : asBug(e);
  if (asJson) json(errorJson(err));
  else {
    const lines = [...problemLines(err.problems), ...err.detail].filter((l) => l !== '').map((l) => l.replace(/[\r\n]+/g, ' '));
    process.stderr.write(`xenbridge: ${err.message.replace(/[\r\n]+/g, ' ')}\n${lines.map((l) => `  ${l}\n`).join('')}`);
  }
  return EXIT_CODES[err.kind];
};

export const tick = (ok: boolean): string => (process.stdout.isTTY ? (ok ? '✓' : '✗') : ok ? 'ok' : 'FAIL');
