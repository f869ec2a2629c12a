/**
 * Everything a run needs besides its input, decided once by its caller: the CLI builds it from flags
 * and the environment, library callers (the lab, tests, benchmarks) with createContext. Nothing below
 * reads the environment, so the vif hook and apply cannot see two different kernels or run dirs.
 */
import { release } from 'node:os';
import { createRunner, type Env, type Failpoint, type Runner } from './exec/runner.js';
import { DEFAULT_RUN_ROOT, runDir } from './exec/paths.js';

export interface Context {
  /** Runs ip, bridge and nft in the scope's namespace. */
  runner: Runner;
  /** Runs in the host's namespace: xenstore, systemd-run, the host's side of probe ports. */
  host: Runner;
  /** The run directory of the scope: lock, journal, history, pending change, on-demand VLANs. */
  runDir: string;
  /** Where every scope's run directory is (the host's is runDir(undefined, runDirRoot)). */
  runDirRoot: string;
  lockTimeoutMs: number;
  xenstoreTimeoutMs: number;
  /** The kernel release planning assumes (EBUSY renames, features): one value for apply and the hook. */
  kernel: string;
  /** Fails (or kills this process at) one global op index: the crash and rollback tests. */
  failpoint?: Failpoint;
  /** The environment of every process the run starts (default: this process's). */
  env?: Env;
  /** Milliseconds since the epoch: deadlines of pending changes. */
  now: () => number;
  /** Retired guards at which an offline removes them all (default xen/vif-guard.ts COLLECT_AT); tests lower it. */
  guardCollectAt?: number;
}

export interface ContextOptions {
  netns?: string;
  runDirRoot?: string;
  lockTimeoutMs?: number;
  xenstoreTimeoutMs?: number;
  kernel?: string;
  failpoint?: Failpoint;
  env?: Env;
  now?: () => number;
  guardCollectAt?: number;
  /** A long-running caller's: nft batches go to one resident nft (runner.ts RunnerOptions). */
  residentNft?: boolean;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;
export const DEFAULT_XENSTORE_TIMEOUT_MS = 10_000;

export const createContext = (o: ContextOptions = {}): Context => {
  const run = { env: o.env, failpoint: o.failpoint };
  const runner = createRunner(o.netns, { ...run, residentNft: o.residentNft === true });
  const root = o.runDirRoot ?? DEFAULT_RUN_ROOT;
  return {
    runner,
    host: o.netns === undefined ? runner : createRunner(undefined, run),
    runDir: runDir(o.netns, root),
    runDirRoot: root,
    lockTimeoutMs: o.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
    xenstoreTimeoutMs: o.xenstoreTimeoutMs ?? DEFAULT_XENSTORE_TIMEOUT_MS,
    kernel: o.kernel ?? release(),
    failpoint: o.failpoint,
    env: o.env,
    now: o.now ?? Date.now,
    guardCollectAt: o.guardCollectAt,
  };
};

/** The same settings in another scope (another namespace, or the host's with undefined). */
export const contextIn = (ctx: Context, netns: string | undefined, o: Partial<ContextOptions> = {}): Context => createContext({
  netns, runDirRoot: ctx.runDirRoot, lockTimeoutMs: ctx.lockTimeoutMs, xenstoreTimeoutMs: ctx.xenstoreTimeoutMs,
  kernel: ctx.kernel, failpoint: ctx.failpoint, env: ctx.env, now: ctx.now, guardCollectAt: ctx.guardCollectAt, ...o,
});
