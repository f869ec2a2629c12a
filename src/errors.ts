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
