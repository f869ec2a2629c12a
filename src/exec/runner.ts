/**
 * The only module that starts processes. Kernel changes go through `ip -batch -` / `bridge -batch -`
 * (one process per phase); everything else (tcpdump, xenstore-*) through run()/start().
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { XbError } from '../errors.js';

export type Tool = 'ip' | 'bridge';

export interface BatchOptions {
  /** Keep going after a failed line (rollback: undo as much as possible). */
  force?: boolean;
  json?: boolean;
  details?: boolean;
  /** Global index of the first line, so the failpoint can name one op of a whole apply. */
  firstIndex?: number;
  /**
   * Path prefix: run the batch so that it finishes, and leaves a record of how far it got, even if
   * this process dies (see recordFiles).
   */
  record?: string;
}

export interface BatchResult {
  ok: boolean;
  /** Lines that completed before the first failure (all of them when ok). */
  done: number;
  failedLine?: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
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

export interface Runner {
  readonly netns: string | undefined;
  batch(tool: Tool, lines: string[], opts?: BatchOptions): Promise<BatchResult>;
  run(cmd: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  start(cmd: string, args: string[], opts?: RunOptions): Background;
  /** Runs with this process's stdin/stdout/stderr (e.g. re-running a command inside the VM bed). */
  passthrough(cmd: string, args: string[], opts?: RunOptions): Promise<number>;
}

const FAIL_LINE: Record<Tool, string> = { ip: 'link set dev xb-failpoint up', bridge: 'vlan add dev xb-failpoint vid 1' };

/** XENBRIDGE_FAILPOINT=k fails global op k; =kill:k kills this process just before op k (crash tests). */
const failpoint = (): { kill: boolean; at: number } | undefined => {
  const fp = process.env.XENBRIDGE_FAILPOINT;
  if (!fp) return undefined;
  const m = /^(kill:)?(\d+)$/.exec(fp);
  if (!m) throw new XbError('usage', `XENBRIDGE_FAILPOINT must be N or kill:N, got "${fp}"`);
  return { kill: m[1] !== undefined, at: Number(m[2]) };
};

/** ip names the failed line as "Command failed -:N" for stdin, "Command failed FILE:N" for a file. */
export const failedLineOf = (stderr: string): number | undefined => {
  const m = /Command failed \S*:(\d+)/.exec(stderr);
  return m ? Number(m[1]) : undefined;
};

/** A recorded batch: the lines ip was given, the pid of its shell, its output, its exit status. */
export const recordFiles = (base: string) => ({ lines: `${base}.batch`, pid: `${base}.pid`, out: `${base}.out`, rc: `${base}.rc` });

/**
 * ip reads its lines from a file and runs in its own session, so neither a kill -9 of this process
 * nor a hang-up of the admin's SSH session stops it halfway through a batch; the shell records its
 * pid before and the exit status after, which is how recovery learns how far the batch got.
 */
const RECORDED = 'echo $$ >"$1"; out=$2; rc=$3; shift 3; "$@" >"$out" 2>&1; echo $? >"$rc"';

const toResult = (r: { exitCode?: number; stdout?: unknown; stderr?: unknown; timedOut?: boolean }): RunResult => ({
  exitCode: r.exitCode ?? 1,
  stdout: typeof r.stdout === 'string' ? r.stdout : '',
  stderr: typeof r.stderr === 'string' ? r.stderr : '',
  timedOut: r.timedOut === true,
});

const notFound = (cmd: string, e: unknown): XbError =>
  new XbError('command', (e as { code?: string }).code === 'ENOENT' ? `${cmd} is not installed (not found in PATH)` : `cannot run ${cmd}: ${(e as Error).message.split('\n')[0]}`, {
    detail: [cmd === 'ip' || cmd === 'bridge' ? 'install iproute2' : `install the package that provides ${cmd}`],
    cause: e,
  });

export const createRunner = (netns?: string): Runner => {
  const wrap = (cmd: string, args: string[], inNetns: boolean | undefined): [string, string[]] =>
    netns !== undefined && inNetns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, args];

  /**
   * A timed-out command is killed with its whole process group: a wrapper script's children would
   * otherwise keep the output pipes open and the call would outlive its timeout.
   */
  const run = async (cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> => {
    const [file, argv] = wrap(cmd, args, opts.inNetns);
    let timedOut = false;
    try {
      const child = execa(file, argv, {
        input: opts.input, env: opts.env, reject: false, stripFinalNewline: false,
        stdin: opts.input === undefined ? 'ignore' : 'pipe', detached: opts.timeoutMs !== undefined,
      });
      const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, opts.timeoutMs);
      const r = await child;
      clearTimeout(timer);
      if (r.failed && r.exitCode === undefined && !timedOut && r.signal === undefined) throw notFound(file, r);
      return { ...toResult(r), timedOut };
    } catch (e) {
      if (e instanceof XbError) throw e;
      throw notFound(file, e);
    }
  };

  const runRecorded = async (tool: Tool, flags: string[], lines: string[], base: string): Promise<RunResult> => {
    const f = recordFiles(base);
    writeFileSync(f.lines, lines.join('\n') + '\n', { mode: 0o600 });
    try {
      await execa('sh', ['-c', RECORDED, 'sh', f.pid, f.out, f.rc, tool, ...flags, '-batch', f.lines], { detached: true, stdin: 'ignore' });
      return { exitCode: Number(readFileSync(f.rc, 'utf8')), stdout: '', stderr: readFileSync(f.out, 'utf8'), timedOut: false };
    } catch (e) {
      throw notFound(tool, e);
    }
  };

  const batch = async (tool: Tool, lines: string[], opts: BatchOptions = {}): Promise<BatchResult> => {
    if (lines.length === 0) return { ok: true, done: 0, stdout: '', stderr: '' };
    let input = lines;
    const fp = opts.firstIndex === undefined ? undefined : failpoint();
    const local = fp ? fp.at - (opts.firstIndex ?? 0) : -1;
    const hit = local >= 0 && local < lines.length;
    if (fp && hit) input = fp.kill ? lines.slice(0, local) : [...lines.slice(0, local), FAIL_LINE[tool]];
    const flags = [...(netns !== undefined ? ['-n', netns] : []), ...(opts.json ? ['-j'] : []), ...(opts.details ? ['-d'] : []), ...(opts.force ? ['-force'] : [])];
    const r = input.length === 0 ? { exitCode: 0, stdout: '', stderr: '', timedOut: false }
      : opts.record !== undefined ? await runRecorded(tool, flags, input, opts.record)
      : await run(tool, [...flags, '-batch', '-'], { input: input.join('\n') + '\n' });
    if (fp?.kill && hit) process.kill(process.pid, 'SIGKILL');
    if (r.exitCode === 0) return { ok: true, done: lines.length, stdout: r.stdout, stderr: r.stderr };
    const failedLine = failedLineOf(r.stderr);
    return { ok: false, done: failedLine === undefined ? 0 : failedLine - 1, failedLine, stdout: r.stdout, stderr: r.stderr };
  };

  const start = (cmd: string, args: string[], opts: RunOptions = {}): Background => {
    const [file, argv] = wrap(cmd, args, opts.inNetns);
    const child: ResultPromise = execa(file, argv, { env: opts.env, reject: false, stdin: 'ignore', timeout: opts.timeoutMs });
    let err = '';
    let outText = '';
    let ended = false;
    const listeners = new Set<() => void>();
    const changed = (): void => listeners.forEach((l) => l());
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); changed(); });
    child.stdout?.on('data', (d: Buffer) => { outText += d.toString(); changed(); });
    const done = child.then((r) => r, (e: unknown) => e as Awaited<ResultPromise>).then((r) => {
      if (r.failed && r.exitCode === undefined && r.signal === undefined) err += notFound(file, r).message;
      return r;
    }).finally(() => { ended = true; changed(); });
    const output = (): string => err + outText;
    const waitFor = (pattern: RegExp, timeoutMs: number): Promise<boolean> => new Promise((resolve) => {
      const check = (): void => {
        const hit = pattern.test(output());
        if (!hit && !ended) return;
        listeners.delete(check);
        clearTimeout(timer);
        resolve(hit);
      };
      const timer = setTimeout(() => { listeners.delete(check); resolve(pattern.test(output())); }, timeoutMs);
      listeners.add(check);
      check();
    });
    return {
      pid: child.pid,
      stop: async () => {
        if (!ended) child.kill('SIGINT');
        return toResult(await done);
      },
      waitFor,
      output,
    };
  };

  const passthrough = async (cmd: string, args: string[], opts: RunOptions = {}): Promise<number> => {
    const [file, argv] = wrap(cmd, args, opts.inNetns);
    const r = await execa(file, argv, { env: opts.env, reject: false, stdio: 'inherit' });
    if (r.failed && r.exitCode === undefined && r.signal === undefined) throw notFound(file, r);
    return r.exitCode ?? 1;
  };

  return { netns, batch, run, start, passthrough };
};

export interface DetachOptions {
  /** stdout and stderr are appended here: the process outlives us, and this is its only voice. */
  logFile: string;
  env?: Record<string, string | undefined>;
}

/**
 * Starts a process in its own session that outlives this one (and the SSH session it runs in):
 * no controlling terminal, stdin closed, not waited for. Returns its pid.
 */
export const detach = (cmd: string, args: string[], opts: DetachOptions): number => {
  const log = openSync(opts.logFile, 'a', 0o600);
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', log, log], env: opts.env });
    // A failed spawn reports through 'error' as well as an undefined pid; unheard, it would crash us.
    child.on('error', () => undefined);
    if (child.pid === undefined) throw new XbError('command', `cannot start ${cmd}`, { detail: [`see ${opts.logFile}`] });
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
};
