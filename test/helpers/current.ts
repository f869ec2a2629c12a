/** Loads a golden case's current.json (captured with test/helpers/capture-state.sh) as a HostState. */
import { readFileSync } from 'node:fs';
import { parseBridgeVlans, parseLinks, parseRoutes } from '../../src/state/parse.js';
import type { HostState } from '../../src/state/types.js';

export const loadCurrent = (file: string): HostState => {
  const j = JSON.parse(readFileSync(file, 'utf8'));
  return {
    kernel: j.kernel,
    links: parseLinks(j.addr),
    routes: [...parseRoutes(j.route4, 4), ...parseRoutes(j.route6, 6)],
    vlans: parseBridgeVlans(j.vlans),
  };
};
