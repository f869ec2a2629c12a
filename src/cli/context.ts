/**
 * What every command needs: the config path and the run's Context, built here and only here from
 * flags and the environment (the library below never reads the environment), validated before use.
 */
import { createContext, type Context } from '../context.js';
import { shown, XbError } from '../errors.js';
import { parseFailpoint, type Runner } from '../exec/runner.js';
import { checkedNetns, trustRunDir } from './netns-arg.js';
import type { Topology } from '../model/topology.js';
import type { CachedTopology } from '../config/cache.js';
import { netnsNameProblem } from '../model/netns-name.js';
import { DEFAULT_RUN_ROOT, runDir } from '../exec/paths.js';
import { basename, dirname, join } from 'node:path';

export const DEFAULT_CONFIG = '/etc/xenbridge/topology.yaml';

export interface CommonOpts {
  config?: string;
  netns?: string;
  /** The root of the run directories (revert-timer: its starter's, passed on). */
  runDir?: string;
}

type Env = Record<string, string | undefined>;

/** Past a day node's timers overflow (to 1 ms); MIN: 0 for the lock (try it once), 0.1 for xenstore (below, every call would time out). */
const secondsMs = (env: Env, name: string, min: number): number | undefined => {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const s = Number(v);
  if (!/^\d{1,5}(\.\d{1,3})?$/.test(v) || s < min || s > 86_400) throw new XbError('usage', `${name} must be a number of seconds from ${min} to 86400, got ${shown(v)}`);
  return Math.round(s * 1000);
};

/** XENBRIDGE_KERNEL: plan as for that release; one that is no release would quietly pick the older takeover. */
const kernelRelease = (env: Env): string | undefined => {
  const v = env.XENBRIDGE_KERNEL;
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,3}\.\d{1,3}[\w.+~-]{0,80}$/.test(v)) throw new XbError('usage', `XENBRIDGE_KERNEL must be a kernel release like 6.12.0, got ${shown(v)}`);
  return v;
};

const count = (env: Env, name: string): number | undefined => {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^[1-9]\d{0,5}$/.test(v)) throw new XbError('usage', `${name} must be a whole number above 0, got ${shown(v)}`);
  return Number(v);
};

/**
 * XENBRIDGE_RUN_DIR, _LOCK_TIMEOUT, _XENSTORE_TIMEOUT, _KERNEL (plan as for another kernel: tests
 * reach the EBUSY rename path of new ones), _FAILPOINT (tests; never for the revert timer, which
 * must clean up after the run under test) and _GUARD_COLLECT_AT (tests reach the removal of retired
 * guards in a few offlines). The namespace is checked and its run directory trusted.
 */
export const contextFor = (o: CommonOpts, opts: { failpoint?: boolean; netnsFrom?: string; residentNft?: boolean } = {}, env: Env = process.env): Context => {
  const ctx = createContext({
    netns: checkedNetns(o.netns, opts.netnsFrom),
    runDirRoot: o.runDir ?? (env.XENBRIDGE_RUN_DIR || undefined),
    lockTimeoutMs: secondsMs(env, 'XENBRIDGE_LOCK_TIMEOUT', 0),
    xenstoreTimeoutMs: secondsMs(env, 'XENBRIDGE_XENSTORE_TIMEOUT', 0.1),
    kernel: kernelRelease(env),
    failpoint: opts.failpoint === false ? undefined : parseFailpoint(env.XENBRIDGE_FAILPOINT),
    guardCollectAt: count(env, 'XENBRIDGE_GUARD_COLLECT_AT'),
    residentNft: opts.residentNft,
  });
  trustRunDir(ctx.runDir);
  return ctx;
};

export const configPath = (o: CommonOpts): string => o.config ?? (process.env.XENBRIDGE_CONFIG || DEFAULT_CONFIG);

export const runnerFor = (o: CommonOpts): Runner => contextFor(o).runner;

/** Loaded on use: the YAML parser and the validation are a large part of a command's start-up. */
export const topologyFor = async (o: CommonOpts): Promise<Topology> => (await import('../config/validate.js')).loadTopology(configPath(o));

/**
 * The topology through the cache in the run directory (config/cache.ts), for apply's no-change path;
 * save() after the command succeeded. A name that is no valid namespace gets no cache: its error comes later.
 */
export const cachedTopologyFor = async (o: CommonOpts, env: Env = process.env): Promise<CachedTopology> => {
  const { loadTopologyCached } = await import('../config/cache.js');
  const root = o.runDir ?? (env.XENBRIDGE_RUN_DIR || DEFAULT_RUN_ROOT);
  const scope = o.netns === undefined || netnsNameProblem(o.netns) === undefined ? runDir(o.netns, root) : undefined;
  if (scope === undefined) return { topology: await topologyFor(o), save: () => undefined };
  return loadTopologyCached(configPath(o), join(dirname(scope), 'topology-cache', `${basename(scope)}.json`));
};

export const needRoot = (what: string): void => {
  if (process.getuid?.() !== 0) throw new XbError('usage', `${what} changes the network and needs root (CAP_NET_ADMIN)`);
};

export const oneOf = <T extends string>(value: string, allowed: readonly T[], flag: string): T => {
  if (!(allowed as readonly string[]).includes(value)) throw new XbError('usage', `${flag} must be one of ${allowed.join(', ')}, got ${shown(value)}`);
  return value as T;
};
