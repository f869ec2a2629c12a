// applyTopology of the built library in a process that has already loaded it and applies when told
// ("go" on stdin): a kill -9 can then land anywhere in the apply, not in node's start-up, which
// under emulation takes seconds. Arguments: topology file, namespace, run directory root.
import { readFileSync } from 'node:fs';
import { applyTopology, createContext, parseTopology } from '../../dist/index.js';

const [file, netns, runDirRoot] = process.argv.slice(2);
const topology = parseTopology(readFileSync(file, 'utf8'), file);
process.stdin.once('data', () => {
  process.stdout.write('go\n');
  void applyTopology(topology, createContext({ netns, runDirRoot })).then(() => process.exit(0), (e) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
});
process.stdout.write('ready\n');
