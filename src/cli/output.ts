/** How results and errors reach a person (one clear line, then detail) or a program (--json). */
import { EXIT_CODES, isXbError, problemLines, XbError } from '../errors.js';

export const out = (text: string): void => {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
};

export const json = (value: unknown): void => out(JSON.stringify(value, null, 2));

export const errorJson = (e: XbError): object => ({
  ok: false,
  error: { kind: e.kind, message: e.message, detail: e.detail, problems: e.problems },
});

/** Prints the error and returns the exit code for its kind. */
export const report = (e: unknown, asJson: boolean): number => {
  const err = isXbError(e) ? e : new XbError('bug', `unexpected error: ${(e as Error)?.message ?? String(e)}`, { detail: [(e as Error)?.stack ?? ''] });
  if (asJson) json(errorJson(err));
  else {
    const lines = [...problemLines(err.problems), ...err.detail].filter((l) => l !== '');
    process.stderr.write(`xenbridge: ${err.message}\n${lines.map((l) => `  ${l}\n`).join('')}`);
  }
  return EXIT_CODES[err.kind];
};

export const tick = (ok: boolean): string => (process.stdout.isTTY ? (ok ? '✓' : '✗') : ok ? 'ok' : 'FAIL');
