/** Files under /run/xenbridge/<scope>/: the lock, the in-flight journal and the history `stop` undoes. */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XbError } from '../errors.js';

export const runDir = (netns: string | undefined): string =>
  join(process.env.XENBRIDGE_RUN_DIR ?? '/run/xenbridge', netns === undefined ? 'host' : `netns-${netns}`);

export const ensureDir = (dir: string): string => {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
};

/** Write-then-rename, so a crash leaves either the old or the new file, never half of one. */
export const writeJson = (file: string, value: unknown): void => {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 1) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
};

export const readJson = <T>(file: string): T | undefined => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new XbError('state', `${file} is corrupt (not JSON)`, { detail: ['inspect it, then delete it to continue'], cause: e });
  }
};

export const removeFile = (file: string): void => rmSync(file, { force: true });
