// npm run bench: prints ratios measured in this run (never asserted in tests).
import { benchApply, printApply } from './apply.mjs';
import { benchHook, printHook } from './hook.mjs';

if (process.getuid?.() !== 0) {
  console.error('bench: needs root (network namespaces)');
  process.exit(2);
}
for (const n of [100, 1000]) printApply(await benchApply(n));
printHook(await benchHook());
