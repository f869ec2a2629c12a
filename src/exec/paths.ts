/** Where xenbridge's own files are: the CLI a timer, a unit or a hook runs, and the run directories. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's CLI, absolute: what a timer, a unit or a hook runs (two levels down, bundled or not). */
export const cliBin = (): string => fileURLToPath(new URL('../../bin/xenbridge', import.meta.url));

export const DEFAULT_RUN_ROOT = '/run/xenbridge';

/** One directory per scope (the host, or one network namespace): each has its own lock and records. */
export const runDir = (netns: string | undefined, root: string): string =>
  join(root, netns === undefined ? 'host' : `netns-${netns}`);
