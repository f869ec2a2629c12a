/** What every command needs: the config path, the namespace and a runner, validated before use. */
import { XbError } from '../errors.js';
import { createRunner, type Runner } from '../exec/runner.js';
import { checkedNetns, trustRunDir } from './netns-arg.js';
import type { Topology } from '../model/topology.js';
import type { CachedTopology } from '../config/cache.js';
import { netnsNameProblem } from '../model/netns-name.js';
import { runDir } from '../txn/store.js';
import { basename, dirname, join } from 'node:path';

export const DEFAULT_CONFIG = '/etc/xenbridge/topology.yaml';

export interface CommonOpts {
  config?: string;
  netns?: string;
}

export const configPath = (o: CommonOpts): string => o.config ?? process.env.XENBRIDGE_CONFIG ?? DEFAULT_CONFIG;

export const runnerFor = (o: CommonOpts): Runner => {
  const netns = checkedNetns(o.netns);
  trustRunDir(netns);
  return createRunner(netns);
};

/** Loaded on use: the YAML parser and the validation are a large part of a command's start-up. */
export const topologyFor = async (o: CommonOpts): Promise<Topology> => (await import('../config/validate.js')).loadTopology(configPath(o));

/**
 * The topology through the cache in the run directory (config/cache.ts), for apply's no-change path;
 * save() after the command succeeded. A name that is no valid namespace gets no cache: its error comes later.
 */
export const cachedTopologyFor = async (o: CommonOpts): Promise<CachedTopology> => {
  const { loadTopologyCached } = await import('../config/cache.js');
  const scope = o.netns === undefined || netnsNameProblem(o.netns) === undefined ? runDir(o.netns) : undefined;
  if (scope === undefined) return { topology: await topologyFor(o), save: () => undefined };
  return loadTopologyCached(configPath(o), join(dirname(scope), 'topology-cache', `${basename(scope)}.json`));
};

export const needRoot = (what: string): void => {
  if (process.getuid?.() !== 0) throw new XbError('usage', `${what} changes the network and needs root (CAP_NET_ADMIN)`);
};

export const oneOf = <T extends string>(value: string, allowed: readonly T[], flag: string): T => {
  if (!(allowed as readonly string[]).includes(value)) throw new XbError('usage', `${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
};
