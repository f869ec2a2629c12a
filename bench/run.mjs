// npm run bench: prints ratios measured in this run (never asserted in tests).
import { RUN_BASE_NOTE } from './env.mjs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { benchApply, printApply } from './apply.mjs';
import { benchStartup, printStartup } from './startup.mjs';
import { benchHook, benchHookService, printHook, printHookService } from './hook.mjs';
import { benchStorm, printStorm } from './storm.mjs';
import { benchTakeover, printTakeover } from './takeover.mjs';
import { benchGuardGrowth, benchGuardHook, benchGuardScale, benchGuardThroughput, benchNftCost, printGuard, printGuardScale, printNftCost } from './guard.mjs';

if (process.getuid?.() !== 0) {
  console.error('bench: needs root (network namespaces)');
  process.exit(2);
}
// Checked before anything runs: a tool found missing half-way would cost the parts already timed.
const TOOLS = { nft: 'nftables', iperf3: 'iperf3' };
const missing = Object.keys(TOOLS).filter((t) => !(process.env.PATH ?? '').split(':').some((d) => existsSync(join(d || '.', t))));
if (missing.length > 0) {
  console.error(`bench: ${missing.join(', ')} not found on PATH (Debian: apt-get install ${missing.map((t) => TOOLS[t]).join(' ')})`);
  process.exit(2);
}
console.log(RUN_BASE_NOTE);
printStartup(await benchStartup());
for (const n of [100, 1000]) printApply(await benchApply(n));
printHook(await benchHook());
printHookService(await benchHookService());
printStorm(await benchStorm());
printGuard(benchGuardHook(), benchGuardGrowth(), benchGuardThroughput());
printGuardScale(await benchGuardScale());
printNftCost(await benchNftCost());
printTakeover(await benchTakeover());
