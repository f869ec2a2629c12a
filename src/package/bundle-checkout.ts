/**
 * `npm run build`'s last step: bin/xenbridge's entries in dist/cli/ become bundles that share
 * chunks, replacing tsc's module graph there, because loading one file per module is most of a small
 * command's start-up (bench/startup.mjs). The library under dist/ stays tsc's output.
 */
import { fileURLToPath } from 'node:url';
import { bundleEntries } from './bundle.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
await bundleEntries(repo, fileURLToPath(new URL('../cli/', import.meta.url)), { minify: false, splitting: true });
