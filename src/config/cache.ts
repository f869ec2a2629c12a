/**
 * The validated topology, kept beside the run's records: parsing the YAML (with the positions every
 * message needs) and validating it cost more than everything else a no-change apply does, and the
 * file rarely changes between runs. An entry is used only when it was written by this build for the
 * same file path and the same bytes, in a directory only we can write; anything else is parsed afresh.
 * The caller saves an entry only after its command succeeded: a failed command leaves no trace.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRegular, writeAll } from '../exec/files.js';
import type { Topology } from '../model/topology.js';
import { readTopologyText } from './read-file.js';

/** Set by the bundler: the same for the bundled CLI and the startup snapshot made from the same build. */
declare const XB_BUILD_ID: string | undefined;

/** This build: a rebuilt or upgraded xenbridge may validate differently, so its entries are not reused. */
const buildStamp = (): string => {
  if (typeof XB_BUILD_ID === 'string') return XB_BUILD_ID;
  const st = statSync(fileURLToPath(import.meta.url));
  return `${st.size}:${st.mtimeMs}`;
};

export const cacheKey = (file: string, text: string, stamp = buildStamp()): string =>
  createHash('sha256').update(`${stamp}\0${file}\0`).update(text).digest('hex');

/** Only a directory no one else can write to may hand us a topology. */
const ours = (path: string): boolean => {
  try {
    const st = statSync(path);
    return st.uid === process.getuid?.() && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
};

const cached = (file: string, key: string): Topology | undefined => {
  if (!ours(file)) return undefined;
  try {
    const v = JSON.parse(readRegular(file) ?? '') as { key?: unknown; topology?: Topology };
    return v.key === key && typeof v.topology === 'object' && v.topology !== null ? v.topology : undefined;
  } catch {
    return undefined;
  }
};

/** A lost entry costs the next run one parse: no fsync, and a write that fails (full /run) is dropped. */
const store = (path: string, key: string, t: Topology): void => {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    if (!ours(dirname(dirname(path)))) return;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    if (!ours(dirname(path))) return;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeAll(fd, JSON.stringify({ key, topology: t }));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch {
    rmSync(tmp, { force: true });
  }
};

export interface CachedTopology {
  topology: Topology;
  /** Keeps this topology for the next run (nothing to do when it came from the cache). */
  save(): void;
}

/** loadTopology through the cache entry at path (under the run directory, in a directory of its own). */
export const loadTopologyCached = async (file: string, path: string): Promise<CachedTopology> => {
  const text = readTopologyText(file);
  const key = cacheKey(file, text);
  const hit = ours(dirname(path)) ? cached(path, key) : undefined;
  if (hit) return { topology: hit, save: () => undefined };
  // The parser and the validation load only when they are needed.
  const topology = (await import('./validate.js')).parseTopology(text, file);
  return { topology, save: () => store(path, key, topology) };
};
