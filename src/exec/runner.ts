/**
 * The only module that starts processes. Kernel changes go through `ip -batch` / `bridge -batch`
 * (one process per phase); everything else (tcpdump, xenstore-*, ping) through run()/start().
 * It uses node:child_process directly: execa's module graph alone cost 115 of the 143 ms the vif
 * hook spent loading, and the hook runs once per guest NIC, under emulation ten times slower.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, statSync, writeFileSync } from 'node:fs';
import { XbError } from '../errors.js';
import { readRecordText } from './files.js';
import { jointReads, type ReadPart } from './joint-reads.js';
import { scratchFd, takeScratch } from './scratch.js';
import { includable, nftSession, type Resident } from './nft-resident.js';
import type { Background, Env, RunOptions, RunResult, Runner } from './run-types.js';
import { RECORDED, armLines, type BatchOptions, type BatchResult, batchArgvIn, batchFlags, chainScript, failedLineOf, recordFiles, type Failpoint, type Tool } from './batch-text.js';

export type { ReadPart } from './joint-reads.js';
export { failedLineOf, parseFailpoint, recordFiles, type BatchOptions, type BatchResult, type Failpoint, type Tool } from './batch-text.js';
export type { Resident } from './nft-resident.js';
export type { Background, Env, RunOptions, RunResult, Runner } from './run-types.js';

const notFound = (cmd: string, e: NodeJS.ErrnoException): XbError =>
  new XbError('command', e.code === 'ENOENT' ? `${cmd} is not installed (not found in PATH)` : `cannot run ${cmd}: ${e.message.split('\n')[0]}`, {
    detail: [cmd === 'ip' || cmd === 'bridge' ? 'install iproute2' : `install the package that provides ${cmd}`],
    cause: e,
  });

interface Launched {
  child: ChildProcess;
  /** Settles once the process has ended and its output is closed; rejects only if it never started. */
  done: Promise<RunResult>;
  output(): string;
  onOutput(listener: () => void): () => void;
}

/**
 * fds: more open descriptors the child gets as 3, 4, ... (the caller's to read and close).
 * toFiles: the child writes where its script sends it; its own stdout goes to that descriptor (or
 * nowhere) and its stderr nowhere. A pipe from Node is a stream object per descriptor, which under
 * emulation cost about 20 ms of each process start (measured in the VM bed).
 */
const launch = (file: string, argv: string[], o: RunOptions & { env?: Env; inherit?: boolean; fds?: number[]; toFiles?: { stdout?: number } } = {}): Launched => {
  const stdio = o.toFiles ? ['ignore', o.toFiles.stdout ?? 'ignore', 'ignore'] as const : [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] as const;
  const child = spawn(file, argv, {
    env: o.env,
    // A session of its own: a hang-up or Ctrl-C reaches the CLI's group, not what a change depends on.
    detached: true,
    stdio: o.inherit ? 'inherit' : [...stdio, ...(o.fds ?? [])],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const changed = (): void => listeners.forEach((l) => l());
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d; changed(); });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; changed(); });
  if (o.input !== undefined && child.stdin) {
    // A process that exits without reading all its input must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(o.input);
  }
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return;
      reject(notFound(file, e));
    });
    child.on('close', (code, signal) => {
      resolve({ exitCode: code ?? (signal ? 128 : 1), stdout, stderr, timedOut: false });
      changed();
    });
  });
  return {
    child, done, output: () => stderr + stdout,
    onOutput: (l) => { listeners.add(l); return () => listeners.delete(l); },
  };
};

/** The failpoint that already fired in this process: it fails one run only, not the undo after it. */
let failpointSpent: string | undefined;

export interface RunnerOptions {
  /** The environment of every process it starts (default: this process's). */
  env?: Env;
  failpoint?: Failpoint;
  /** A long-running caller (the hook service): nft batches with a record go to one resident `nft -i`. */
  residentNft?: boolean;
}

export const createRunner = (netns?: string, ro: RunnerOptions = {}): Runner => {
  const env = ro.env;
  const batchArgv = (tool: Tool, flags: string[], file: string): string[] => batchArgvIn(netns, tool, flags, file);

  const wrap = (cmd: string, args: string[], inNetns: boolean | undefined): [string, string[]] =>
    netns !== undefined && inNetns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, args];

  /**
   * A timed-out command is killed with its whole process group: a wrapper script's children would
   * otherwise keep the output pipes open and the call would outlive its timeout.
   */
  const run = async (cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> => {
    const [file, argv] = wrap(cmd, args, opts.inNetns);
    const p = launch(file, argv, { ...opts, env });
    let timedOut = false;
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      try {
        if (p.child.pid !== undefined) process.kill(-p.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, opts.timeoutMs);
    let r: RunResult;
    try {
      r = { ...(await p.done), timedOut };
    } finally {
      clearTimeout(timer);
    }
    // Through `ip netns exec` a tool that cannot start (missing, not executable) is ip's failure: the same error as without.
    const failed = `exec of "${cmd}" failed: `;
    if (file !== cmd && r.exitCode !== 0 && r.stderr.startsWith(failed)) {
      throw notFound(cmd, Object.assign(new Error(r.stderr.slice(failed.length)), { code: r.stderr.startsWith(`${failed}No such file or directory`) ? 'ENOENT' : undefined }));
    }
    return r;
  };

  /** script: RECORDED with argv, or a chainScript (argv empty). */
  const runRecorded = async (tool: Tool, lines: string[], base: string, argv: string[], script = RECORDED): Promise<RunResult> => {
    const f = recordFiles(base);
    writeFileSync(f.lines, lines.join('\n') + '\n', { mode: 0o600 });
    await launch('sh', ['-c', script, 'sh', f.pid, f.out, f.rc, ...argv], { env, toFiles: {} }).done;
    const rcText = readRecordText(f.rc) ?? '';
    const out = readRecordText(f.out) ?? '';
    // A shell that could not write its status (a full run directory) ran lines we cannot name.
    if (!/^\d+\n$/.test(rcText)) return { exitCode: 1, stdout: '', stderr: `the batch's outcome could not be recorded in ${f.rc}: its lines may or may not have run\n`, timedOut: false, uncertain: true };
    const rc = Number(rcText);
    if (rc === 127 && /not found/.test(out)) throw notFound(tool, Object.assign(new Error(out), { code: 'ENOENT' }));
    return { exitCode: rc, stdout: '', stderr: out, timedOut: false };
  };

  /** The failpoint applied to one batch: the lines to run, and whether this process dies after them. */
  const arm = (tool: Tool, lines: string[], opts: BatchOptions): { input: string[]; kill: boolean } => {
    // The failpoint fails one run only: not the undo that follows its failure.
    const armed = opts.firstIndex === undefined ? undefined : ro.failpoint;
    const fp = armed && `${armed.kill}:${armed.at}` !== failpointSpent ? armed : undefined;
    const a = armLines(tool, lines, fp, opts.firstIndex ?? 0, opts.force === true);
    if (a.hit && fp) failpointSpent = `${fp.kill}:${fp.at}`;
    return a;
  };

  const flagsOf = (tool: Tool, opts: BatchOptions): string[] => batchFlags(netns, tool, opts);

  /** A child that lives as long as the caller wants: stdin stays open, its output is handed over as it comes. */
  const resident = (cmd: string, args: string[]): Resident => {
    const [file, argv] = wrap(cmd, args, true);
    const child = spawn(file, argv, { env, stdio: ['pipe', 'ignore', 'pipe'] });
    const ended = new Promise<string>((resolve) => {
      child.on('error', (e: NodeJS.ErrnoException) => { if (child.pid === undefined) resolve(notFound(cmd, e).message); });
      child.on('close', (code, signal) => resolve(signal ? `killed by ${signal}` : `exited with status ${code ?? '?'}`));
    });
    // A child gone before reading what was written must not crash us with EPIPE: its end says it.
    child.stdin?.on('error', () => undefined);
    // A namespace deleted and made again under its name (iproute2's /run/netns): the child still runs in the old one.
    const nsIno = (f: string): number | undefined => statSync(f, { throwIfNoEntry: false })?.ino;
    const moved = (): boolean => netns !== undefined && nsIno(`/proc/${child.pid}/ns/net`) !== nsIno(`/run/netns/${netns}`);
    return { pid: child.pid, write: (t) => void child.stdin?.write(t), stderr: (l) => void child.stderr?.setEncoding('utf8').on('data', l), ended, end: () => child.stdin?.end(), kill: () => child.kill('SIGKILL'), moved };
  };
  const nftd = ro.residentNft ? nftSession(() => resident('nft', ['-i'])) : undefined;

  const result = (r: RunResult, lines: number): BatchResult => {
    if (r.exitCode === 0) return { ok: true, done: lines, stdout: r.stdout, stderr: r.stderr };
    const failedLine = failedLineOf(r.stderr);
    return { ok: false, done: failedLine === undefined ? 0 : failedLine - 1, failedLine, stdout: r.stdout, stderr: r.stderr, ...(r.uncertain ? { uncertain: true } : {}) };
  };

  /** Several batches, one recorded shell: each part's lines in a file of its own, all of them in the record's. */
  const chained = async (parts: { tool: Tool; lines: string[] }[], opts: BatchOptions & { record: string }): Promise<BatchResult> => {
    const f = recordFiles(opts.record);
    const run: { from: number; argv: string[] }[] = [];
    const given: string[] = [];
    let at = 0;
    let kill = false;
    for (const [i, p] of parts.entries()) {
      const a = arm(p.tool, p.lines, { ...opts, firstIndex: (opts.firstIndex ?? 0) + at });
      if (a.input.length > 0) {
        writeFileSync(`${f.lines}.${i}`, a.input.join('\n') + '\n', { mode: 0o600 });
        run.push({ from: at, argv: batchArgv(p.tool, flagsOf(p.tool, {}), `${f.lines}.${i}`) });
        given.push(...a.input);
      }
      at += p.lines.length;
      kill = a.kill;
      if (kill) break;
    }
    const r = run.length === 0 ? { exitCode: 0, stdout: '', stderr: '', timedOut: false } : await runRecorded(parts[0]?.tool ?? 'ip', given, opts.record, [], chainScript(run, `${opts.record}.part`));
    if (kill) process.kill(process.pid, 'SIGKILL');
    return result(r, at);
  };

  const batch = async (tool: Tool, lines: string[], opts: BatchOptions = {}): Promise<BatchResult> => {
    if (opts.then?.length && opts.record !== undefined && !opts.force) return chained([{ tool, lines }, ...opts.then], { ...opts, record: opts.record });
    if (lines.length === 0) return { ok: true, done: 0, stdout: '', stderr: '' };
    const { input, kill } = arm(tool, lines, opts);
    if (tool === 'nft' && nftd && opts.record !== undefined && !opts.force && includable(recordFiles(opts.record).lines)) {
      // A kill lands while nft runs the lines: the hardest moment for recovery.
      const r = input.length === 0 ? { exitCode: 0, stdout: '', stderr: '', timedOut: false } : await nftd.run(input, recordFiles(opts.record), kill);
      if (kill) process.kill(process.pid, 'SIGKILL');
      return result(r, lines.length);
    }
    const flags = flagsOf(tool, opts);
    const [cmd, ...args] = batchArgv(tool, flags, '-');
    let r = input.length === 0 ? { exitCode: 0, stdout: '', stderr: '', timedOut: false }
      : opts.record !== undefined ? await runRecorded(tool, input, opts.record, batchArgv(tool, flags, recordFiles(opts.record).lines))
      : await run(cmd ?? tool, args, { input: input.join('\n') + '\n' });
    // nft applies a batch all or nothing and has no -force: undoing as much as possible is line by line.
    if (tool === 'nft' && opts.force && r.exitCode !== 0 && input.length > 1) {
      const each: RunResult[] = [];
      for (const l of input) each.push(await run(cmd ?? tool, args, { input: `${l}\n` }));
      r = { ...r, exitCode: each.some((x) => x.exitCode !== 0) ? 1 : 0, stderr: each.map((x) => x.stderr).join('') };
    }
    if (kill) process.kill(process.pid, 'SIGKILL');
    return result(r, lines.length);
  };

  const reads = (parts: ReadPart[], dir: string): Promise<RunResult[] | undefined> => jointReads(parts, dir, {
    argv: (tool, opts) => batchArgv(tool, flagsOf(tool, opts), '-'),
    sh: async (script, fds) => {
      // The parts' statuses through a file as well (none can be made there: a pipe).
      const out = scratchFd(dir);
      if (out === undefined) return launch('sh', ['-c', script], { env, fds }).done;
      const r = await launch('sh', ['-c', script], { env, fds, toFiles: { stdout: out } }).done.catch((e: unknown) => { takeScratch(out); throw e; });
      return { ...r, stdout: takeScratch(out) };
    },
    missing: (tool, stderr) => notFound(tool, Object.assign(new Error(stderr), { code: 'ENOENT' })),
  });

  const start = (cmd: string, args: string[], opts: RunOptions = {}): Background => {
    const [file, argv] = wrap(cmd, args, opts.inNetns);
    const p = launch(file, argv, { ...opts, env });
    let ended = false;
    let startError = '';
    const done = p.done.catch((e: XbError) => {
      startError = e.message;
      return { exitCode: 127, stdout: '', stderr: e.message, timedOut: false };
    }).finally(() => { ended = true; });
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => p.child.kill('SIGTERM'), opts.timeoutMs);
    void done.finally(() => clearTimeout(timer));
    const output = (): string => startError + p.output();
    const waitFor = (pattern: RegExp, timeoutMs: number): Promise<boolean> => new Promise((resolve) => {
      let off = (): void => undefined;
      const finish = (hit: boolean): void => { off(); clearTimeout(t); resolve(hit); };
      const check = (): void => {
        const hit = pattern.test(output());
        if (hit || ended) finish(hit);
      };
      const t = setTimeout(() => finish(pattern.test(output())), timeoutMs);
      off = p.onOutput(check);
      void done.then(check);
      check();
    });
    return {
      pid: p.child.pid,
      stop: async () => {
        if (!ended) p.child.kill('SIGINT');
        return done;
      },
      waitFor,
      output,
    };
  };

  const passthrough = async (cmd: string, args: string[], opts: RunOptions = {}): Promise<number> => {
    const [file, argv] = wrap(cmd, args, opts.inNetns);
    return (await launch(file, argv, { ...opts, env, inherit: true }).done).exitCode;
  };

  return { netns, batch, reads, run, start, passthrough, residentNft: nftd !== undefined, close: () => nftd?.close() };
};

export interface DetachOptions {
  /** stdout and stderr are appended here: the process outlives us, and this is its only voice. */
  logFile: string;
  /** Its whole environment (default: this process's). */
  env?: Env;
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
