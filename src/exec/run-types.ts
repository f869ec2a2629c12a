/** What the runner (runner.ts) takes and gives for the processes it starts. */
import type { BatchOptions, BatchResult, Tool } from './batch-text.js';
import type { ReadPart } from './joint-reads.js';

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  /** Run inside the runner's network namespace (ip netns exec). */
  inNetns?: boolean;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** A batch whose outcome is unknown: its lines may have run (a resident nft that died, a status not recorded). */
  uncertain?: boolean;
}

export interface Background {
  pid: number | undefined;
  /** Sends SIGINT (tcpdump flushes its file on it) and waits for the process to end. */
  stop(): Promise<RunResult>;
  /**
   * Resolves true once stdout or stderr has matched (tcpdump says "listening on" only when its
   * capture is active), false when the process ends or the time runs out first.
   */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<boolean>;
  /** What it printed so far (stderr, then stdout). */
  output(): string;
}

/** A whole environment for the processes a runner starts. */
export type Env = Record<string, string | undefined>;

export interface Runner {
  readonly netns: string | undefined;
  batch(tool: Tool, lines: string[], opts?: BatchOptions): Promise<BatchResult>;
  /**
   * Read-only parts side by side under one shell, their output through files in dir (scratch.ts);
   * undefined when those files cannot be made there (the caller reads apart, through pipes).
   */
  reads(parts: ReadPart[], dir: string): Promise<RunResult[] | undefined>;
  run(cmd: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  start(cmd: string, args: string[], opts?: RunOptions): Background;
  /** Runs with this process's stdin/stdout/stderr (e.g. re-running a command inside the VM bed). */
  passthrough(cmd: string, args: string[], opts?: RunOptions): Promise<number>;
  /** Recorded nft batches go to one long-lived `nft -i` (RunnerOptions.residentNft), each its own run. */
  readonly residentNft: boolean;
  /** Ends the resident nft, if any. */
  close(): void;
}
