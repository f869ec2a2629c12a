/** Every failure the library reports is an XbError with a kind; the CLI maps kinds to exit codes. */
export type ErrorKind =
  | 'usage'          // bad CLI arguments or environment
  | 'config'         // the topology file is invalid (nothing was changed)
  | 'state'          // the host is in a state we cannot plan from
  | 'command'        // a kernel operation failed
  | 'verify'         // live state or traffic does not match the file
  | 'rolled-back'    // apply failed and the host was restored
  | 'rollback-failed'
  | 'lock'           // another xenbridge holds the lock too long
  | 'xenstore'
  | 'bug';

export interface Problem {
  message: string;
  /** "file:line:col" or a path such as "bridges[0].vlans[1].id" */
  where?: string;
}

export class XbError extends Error {
  readonly kind: ErrorKind;
  readonly detail: string[];
  readonly problems: Problem[];

  constructor(kind: ErrorKind, message: string, opts: { detail?: string[]; problems?: Problem[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'XbError';
    this.kind = kind;
    this.detail = opts.detail ?? [];
    this.problems = opts.problems ?? [];
  }
}

export const EXIT_CODES: Record<ErrorKind, number> = {
  usage: 2,
  config: 65,
  state: 1,
  command: 1,
  verify: 3,
  'rolled-back': 4,
  'rollback-failed': 1,
  lock: 1,
  xenstore: 1,
  bug: 1,
};

export const isXbError = (e: unknown): e is XbError => e instanceof XbError;

export const problemLines = (problems: Problem[]): string[] =>
  problems.map((p) => (p.where ? `${p.where}: ${p.message}` : p.message));

/**
 * A value from outside (xenstore, a file, a flag, the environment) as an error or a log line shows
 * it: quoted, every character outside printable ASCII escaped (a raw CR, ESC or line separator in
 * a log would let the value forge or hide lines), and cut after SHOWN_MAX characters (an error
 * line goes to xenstore's hotplug-error, whose payload is 4096 bytes at most).
 */
export const SHOWN_MAX = 64;

const escapeChar = (c: string): string => {
  if (c === '"' || c === '\\') return `\\${c}`;
  const code = c.charCodeAt(0);
  return code >= 0x20 && code <= 0x7e ? c : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** TEXT's first MAX characters with RE's matches escaped, put in WRAP, then its length when it was cut. */
const clip = (text: string, max: number, re: RegExp, wrap: (body: string) => string): string => {
  const body = wrap(text.slice(0, max).replace(re, escapeChar));
  return text.length > max ? `${body}... (${text.length} characters)` : body;
};

export const shown = (value: string, max = SHOWN_MAX): string => clip(value, max, /[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, (b) => `"${b}"`);

/** The same without quotes, for text shown as text (another program's message). */
export const shownText = (text: string, max = SHOWN_MAX): string => clip(text, max, /[^\x20-\x7e]/g, (b) => b);

/** Any value read from a file (a record, a topology) as an error shows it: a string as shown(), anything else as its JSON, escaped and cut the same way. */
export const shownAny = (v: unknown): string => (typeof v === 'string' ? shown(v) : shownText(String(JSON.stringify(v))));
