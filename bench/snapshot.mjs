// The CLI's startup snapshot, made before anything is timed: bin/xenbridge run as a program (as
// /usr/bin/xenbridge is) starts from it once the first command that succeeded has made it in the
// background (src/cli/snapshot-build.ts). XENBRIDGE_NO_SNAPSHOT=1 runs it without, for comparison.
import './env.mjs';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BIN = join(ROOT, 'bin/xenbridge');

const read = (f) => (existsSync(f) ? readFileSync(f, 'utf8').trim() : undefined);

/**
 * Until this boot's snapshot is of this build (its entry stamp is dist/cli/snapshot.id): one left by
 * an earlier build stays in place until the new one replaces it, and timing then would time neither.
 */
export const readySnapshot = async (limitS = 600) => {
  const dir = join(ROOT, 'dist/cli/snapshot', readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  const id = read(join(ROOT, 'dist/cli/snapshot.id'));
  const current = () => id !== undefined && existsSync(join(dir, 'cli.blob')) && read(join(dir, 'entry')) === id;
  execFileSync(BIN, ['--help'], { stdio: 'ignore' });
  for (let i = 0; i < limitS * 10 && !current(); i++) await new Promise((r) => setTimeout(r, 100));
  if (!current()) throw new Error(`no startup snapshot of this build in ${dir} after ${limitS} s`);
  return join(dir, 'cli.blob');
};

export const withoutSnapshot = (env) => ({ ...env, XENBRIDGE_NO_SNAPSHOT: '1' });
