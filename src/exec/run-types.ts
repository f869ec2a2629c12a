/** What the runner (runner.ts) takes and gives for the processes it starts. */

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
