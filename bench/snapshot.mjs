// The CLI's startup snapshot, made before anything is timed: bin/xenbridge run as a program (as
// /usr/bin/xenbridge is) starts from it once the first command that succeeded has made it in the
// background (src/cli/snapshot-build.ts). XENBRIDGE_NO_SNAPSHOT=1 runs it without, for comparison.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BIN = join(ROOT, 'bin/xenbridge');

export const readySnapshot = async (limitS = 600) => {
  const blob = join(ROOT, 'dist/cli/snapshot', readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), 'cli.blob');
  execFileSync(BIN, ['--help'], { stdio: 'ignore' });
  for (let i = 0; i < limitS * 10 && !existsSync(blob); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(blob)) throw new Error(`no startup snapshot at ${blob} after ${limitS} s`);
  return blob;
};

export const withoutSnapshot = (env) => ({ ...env, XENBRIDGE_NO_SNAPSHOT: '1' });
