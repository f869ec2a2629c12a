/**
 * The boot-time naming files under a root directory: what changes, and writing it. xenbridge owns
 * /etc/systemd/network/10-xenbridge-*.link and /etc/udev/rules.d/70-xenbridge-names.rules, so files
 * of rules since removed, or of the other backend, are deleted: one set of rules is in force.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { shown, XbError } from '../errors.js';
import { fsReason, makeDirs } from '../exec/dirs.js';
import { LINK_DIR, LINK_PREFIX, UDEV_FILE, type PersistFile } from './persist.js';

export interface FileChange {
  path: string;
  /** undefined: the file does not exist yet. */
  before?: string;
  /** undefined: the file is removed. */
  after?: string;
}

const under = (root: string, path: string): string => join(root, path);

const readIfThere = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new XbError('usage', `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
};

const owned = (root: string): string[] => {
  let links: string[] = [];
  try {
    links = readdirSync(under(root, LINK_DIR)).filter((f) => f.startsWith(LINK_PREFIX) && f.endsWith('.link')).map((f) => `${LINK_DIR}/${f}`);
  } catch {
    // no such directory: nothing of ours there
  }
  return readIfThere(under(root, UDEV_FILE)) === undefined ? links : [...links, UDEV_FILE];
};

export const changesUnder = (root: string, files: PersistFile[]): FileChange[] => {
  const wanted = new Set(files.map((f) => f.path));
  const writes = files.map((f) => ({ path: f.path, before: readIfThere(under(root, f.path)), after: f.text }));
  const removals = owned(root).filter((p) => !wanted.has(p)).map((p) => ({ path: p, before: readIfThere(under(root, p)), after: undefined }));
  return [...writes, ...removals].filter((c) => c.before !== c.after).sort((a, b) => a.path.localeCompare(b.path));
};

export const writeChanges = (root: string, changes: FileChange[]): void => {
  for (const c of changes) {
    const file = under(root, c.path);
    try {
      if (c.after === undefined) rmSync(file, { force: true });
      else {
        makeDirs(dirname(file), 0o755, 'usage');
        writeFileSync(file, c.after, { mode: 0o644 });
      }
    } catch (e) {
      const detail = ['writing under / needs root; --root DIR writes into a directory'];
      if (e instanceof XbError) throw new XbError(e.kind, e.message, { detail, cause: e });
      throw new XbError('usage', `cannot write ${shown(file, 256)}: ${fsReason(e)}`, { detail, cause: e });
    }
  }
};
