/**
 * Directories the CLI is told to write into (install --root, names --persist --root, verify
 * --pcap-dir). Each part is made by itself, not by node's recursive mkdir: that one loops for ever
 * on a kernel file system (mkdir gives ENOENT under /proc/sys, and the parent then EEXIST), and an
 * existing part, followed through symlinks, must be a directory of an ordinary file system.
 */
import { mkdirSync, statfsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { shown, XbError } from '../errors.js';

/** proc, sysfs, devpts, securityfs, debugfs, cgroup, cgroup2, tracefs, bpf: the kernel's own files. */
const KERNEL_FS = new Set([0x9fa0, 0x62656572, 0x1cd1, 0x73636673, 0x64626720, 0x27e0eb, 0x63677270, 0x74726163, 0xcafe4a11]);

const errno = (e: unknown): string => String((e as NodeJS.ErrnoException)?.code ?? (e as Error)?.message ?? e);
const REASONS: Record<string, string> = {
  ENOSPC: 'no space left', EROFS: 'read-only file system', EACCES: 'permission denied', EPERM: 'permission denied',
  ENOTDIR: 'a part of the path is not a directory', ENOENT: 'a part of the path is missing', ELOOP: 'too many symlinks', EISDIR: 'is a directory',
};
/** Codes of exec/files.ts carry their own words. */
const OWN = new Set(['ESYMLINK', 'ENOTREG', 'EFBIG']);
export const fsReason = (e: unknown): string => (OWN.has(errno(e)) ? (e as Error).message : REASONS[errno(e)] ?? errno(e));

/** Why an existing path cannot be a directory to write into, or undefined; 'missing' when it does not exist. */
const unusable = (path: string, onlyDir = false): string | undefined | 'missing' => {
  let dir: boolean;
  try {
    dir = statSync(path).isDirectory();
  } catch (e) {
    return errno(e) === 'ENOENT' ? 'missing' : fsReason(e);
  }
  if (!dir) return 'is not a directory';
  if (onlyDir) return undefined;
  return KERNEL_FS.has(statfsSync(path).type) ? 'is on a kernel file system (/proc, /sys...), not a directory tree' : undefined;
};

/** "X is not a directory", "X: permission denied". */
const say = (subject: string, why: string): string => (why.startsWith('is ') ? `${subject} ${why}` : `${subject}: ${why}`);

/** The directory tree --root names: an existing directory of an ordinary file system. */
export const checkTreeRoot = (root: string, flag = '--root'): string => {
  if (root === '') throw new XbError('usage', `${flag} is empty: give a directory (/ for this host)`);
  const why = unusable(root);
  if (why === 'missing') throw new XbError('usage', `${flag} ${shown(root, 256)}: no such directory`);
  if (why !== undefined) throw new XbError('usage', say(`${flag} ${shown(root, 256)}`, why));
  return root;
};

/**
 * Makes dir and its missing parents (mode for those made). The parts that exist must be
 * directories (through symlinks); the deepest of them, the one written into, an ordinary file
 * system's: /proc/PID/root leads through /proc into a container's tree, which is one.
 */
export const makeDirs = (dir: string, mode = 0o755, kind: 'usage' | 'state' = 'state'): void => {
  const abs = resolve(dir);
  const parts = abs.split(sep).filter((p) => p !== '');
  const fail = (why: string, at: string): XbError => new XbError(kind, `cannot make ${shown(dir, 256)}: ${say(shown(at, 256), why)}`);
  let at = isAbsolute(abs) ? sep : '';
  let i = 0;
  for (; i < parts.length; i++) {
    const next = join(at, parts[i]!);
    const why = unusable(next, true);
    if (why === 'missing') break;
    if (why !== undefined) throw fail(why, next);
    at = next;
  }
  const why = unusable(at);
  if (why !== undefined) throw fail(why === 'missing' ? 'is missing' : why, at);
  for (; i < parts.length; i++) {
    at = join(at, parts[i]!);
    try {
      mkdirSync(at, { mode });
    } catch (e) {
      if (errno(e) !== 'EEXIST') throw new XbError(kind, `cannot make ${shown(dir, 256)}: ${fsReason(e)}`, { cause: e });
    }
  }
};
