/** The hook service under test: `xenbridge hookd` in the background, and hooks/vif-xenbridge run as xl would run it. */
import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sandboxWithTopology, type Sandbox } from './netns.js';
import { CLI, cli, ROOT, type CliResult } from './sh.js';
import { makeXenBed, type XenBed } from './vif.js';

export interface Service {
  proc: ResultPromise;
  spool: string;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | undefined>;
}

/** A sandbox with the topology applied and a Xen test bed over it: where every hook service test starts. */
export const appliedBed = async (topology: string): Promise<{ sb: Sandbox; xen: XenBed }> => {
  const { sb, cfg } = await sandboxWithTopology(topology);
  const r = await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env);
  if (r.code !== 0) throw new Error(`apply failed: ${r.stderr}`);
  return { sb, xen: makeXenBed(sb, cfg) };
};

export const spoolOf = (sb: Sandbox): string => join(sb.runDir, `netns-${sb.dom0}`, 'hookd');

export const startService = async (sb: Sandbox, xen: XenBed, args: string[] = [], env: Record<string, string> = {}): Promise<Service> => {
  const proc = execa(CLI, ['hookd', ...args], { reject: false, env: { ...xen.env, ...env }, stdin: 'ignore', all: true });
  let out = '';
  proc.all?.on('data', (d: Buffer) => { out += d.toString(); });
  const spool = spoolOf(sb);
  for (let i = 0; i < 200 && !/serving vif events/.test(out); i++) {
    if (proc.exitCode !== null) break;
    await sleep(25);
  }
  if (!/serving vif events/.test(out)) throw new Error(`hookd did not start: ${out}`);
  return {
    proc, spool, output: () => out,
    stop: async () => {
      proc.kill('SIGTERM');
      return (await proc).exitCode;
    },
  };
};

/** hooks/vif-xenbridge, as xl runs it (through /bin/sh), the CLI named by XENBRIDGE_BIN for its direct path. */
export const hookProcess = (xen: XenBed, action: string, d: number, n: number, extra: Record<string, string> = {}): ResultPromise<{ reject: false; stdin: 'ignore' }> =>
  execa('/bin/sh', [join(ROOT, 'hooks/vif-xenbridge'), action, 'type_if=vif'], {
    reject: false, stdin: 'ignore',
    env: { ...xen.env, XENBRIDGE_BIN: CLI, XENBUS_PATH: `backend/vif/${d}/${n}`, XENBUS_TYPE: 'vif', XENBUS_BASE_PATH: 'backend', vif: `vif${d}.${n}`, ...extra },
  });

export const viaHook = async (xen: XenBed, action: string, d: number, n: number, extra: Record<string, string> = {}): Promise<CliResult> => {
  const r = await hookProcess(xen, action, d, n, extra);
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
};

/** The pids of processes that hold `path` open (any of their fds). */
export const holders = (path: string): number[] => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((pid) => {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}).map(Number);

export const pidFileGone = (s: Service): boolean => !existsSync(join(s.spool, 'pid'));

/** Holds the transaction lock of the sandbox's scope as a live process would, until release(). */
export const holdLock = async (sb: Sandbox): Promise<{ release(): Promise<void> }> => {
  const p = execa('sleep', ['60'], { reject: false });
  const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  const dir = join(sb.runDir, `netns-${sb.dom0}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'lock'), `${p.pid} ${start}\n`);
  return { release: async () => { p.kill('SIGKILL'); await p; } };
};

export const waitFor = async (what: string, ok: () => boolean, ms = 10_000): Promise<void> => {
  for (const t0 = Date.now(); !ok(); await sleep(20)) if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
};

export const spoolFiles = (s: { spool: string }, ext: string): string[] => readdirSync(s.spool).filter((f) => f.endsWith(ext));
