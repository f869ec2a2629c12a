/**
 * The record files a run changes when it commits (vif guard records): listed in one durable file,
 * named by the run's journal id, before any of them changes. A crash part-way through is then
 * rolled forward by the recovery that finds the run committed; undoing the run instead would leave
 * records that name guards the kernel no longer has, or lack guards it has.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { shownAny } from '../errors.js';
import { fsError, fsyncPath, readRecord, removeFile, writeDurable, writeRecord, type RecordKind } from './store.js';
import { list, object, oneOf, optional, ShapeError, str, type Check } from './shape.js';

export interface FileOp {
  op: 'write' | 'rename' | 'remove';
  /** Relative to the run directory. */
  path: string;
  /** write: the file's text. */
  text?: string;
  /** rename: the new path, relative to the run directory. */
  to?: string;
}

const FILE = 'commit-files.json';

const PATH_RE = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9_.@-]+(?:\/[A-Za-z0-9_.@-]+)*$/;
const relPath: Check<string> = (v, at) => {
  const p = str(v, at);
  if (!PATH_RE.test(p)) throw new ShapeError(`${at} should be a path inside the run directory, not ${shownAny(p)}`);
  return p;
};

const COMMIT: RecordKind<{ id: string; ops: FileOp[] }> = {
  what: "list of the record files a committed run changes",
  check: object({ id: str, ops: list(object({ op: oneOf('write', 'rename', 'remove'), path: relPath, text: optional(str), to: optional(relPath) })) }) as Check<{ id: string; ops: FileOp[] }>,
  fix: 'delete the file; then run xenbridge apply, which compares the vif guards with their records',
};

/** Each op may have run already: running them again gives the same files. */
const run = (dir: string, ops: FileOp[]): void => {
  for (const o of ops) {
    const at = join(dir, o.path);
    if (o.op === 'remove') removeFile(at);
    else if (o.op === 'write') {
      mkdirSync(dirname(at), { recursive: true, mode: 0o700 });
      writeDurable(at, o.text ?? '');
    } else {
      const to = join(dir, o.to ?? o.path);
      try {
        mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
        renameSync(at, to);
        fsyncPath(dirname(to), 'r');
      } catch (e) {
        // Renamed already (before a crash), or never there: either way nothing is left to move.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(e, 'rename', at);
      }
    }
  }
};

/** Called in a run's commit (commitRun's record step): the list first, then the files. */
export const commitFiles = (dir: string, id: string, ops: FileOp[]): void => {
  // A removal or rename of a file that is not there changes nothing: such a commit needs no list.
  const real = ops.filter((o) => o.op === 'write' || existsSync(join(dir, o.path)));
  if (real.length === 0) return;
  writeRecord(join(dir, FILE), { id, ops: real });
  run(dir, real);
};

export const committedFilesId = (dir: string): string | undefined => readRecord(join(dir, FILE), COMMIT)?.id;

/** Recovery of a committed run: its file changes are finished, whatever a crash left of them. */
export const finishCommitFiles = (dir: string, id: string | undefined): void => {
  const c = readRecord(join(dir, FILE), COMMIT);
  if (c && c.id === id) run(dir, c.ops);
};

export const dropCommitFiles = (dir: string): void => removeFile(join(dir, FILE));
