/** Commands that read the topology only for its names: rules (show) need no file to exist. */
import { existsSync } from 'node:fs';
import { isXbError } from '../errors.js';
import type { Topology } from '../model/topology.js';
import { configPath, topologyFor, type CommonOpts } from './context.js';

/** The file named with -c or $XENBRIDGE_CONFIG must load; the default one is used if it exists and is valid. */
export const optionalTopology = async (o: CommonOpts, warn: (line: string) => void): Promise<Topology | undefined> => {
  if (o.config !== undefined || process.env.XENBRIDGE_CONFIG) return await topologyFor(o);
  if (!existsSync(configPath(o))) return undefined;
  try {
    return await topologyFor(o);
  } catch (e) {
    if (!isXbError(e) || e.kind !== 'config') throw e;
    warn(`${e.message}: showing no stable names`);
    return undefined;
  }
};
