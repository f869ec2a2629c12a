// The pipeline config -> model -> state -> plan -> txn -> verify, read off src/'s imports: a stage
// imports only stages before it (and the foundation), never a later one and never a shell.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/sh.js';

/**
 * Rank of each layer under src/: imports go to an equal or lower rank. model is the vocabulary
 * every stage speaks (config produces it); names matches NICs against the live state for plan;
 * apply is the transaction's entry points.
 */
const RANK: Record<string, number> = {
  errors: 0, exec: 0, context: 0,
  model: 1, config: 2, state: 3, names: 4, plan: 5, txn: 6, apply: 7, verify: 8,
};
/** Thin shells over the library: they may import anything; nothing in the pipeline imports them. */
const SHELLS = new Set(['cli', 'xen', 'lab', 'install', 'show', 'package', 'compat', 'index']);

const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
});

const layerOf = (src: string, file: string): string => relative(src, file).split('/')[0]!.replace(/\.ts$/, '');

/** Every import of a layer that its rank forbids, as "file -> imported file". */
const backEdges = (src: string): string[] => walk(src).flatMap((file) => {
  const from = layerOf(src, file);
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+'(\.[^']+)'/g)].flatMap(([, spec]) => {
    const to = layerOf(src, normalize(join(dirname(file), spec!.replace(/\.js$/, '.ts'))));
    if (from === to || SHELLS.has(from)) return [];
    const ok = !SHELLS.has(to) && RANK[to]! <= RANK[from]!;
    return ok ? [] : [`${relative(src, file)} -> ${spec}`];
  });
});

describe('layers of src/', () => {
  const src = join(ROOT, 'src');

  it('every top-level entry of src/ has a place in the pipeline or is a shell', () => {
    const unplaced = readdirSync(src).map((f) => f.replace(/\.ts$/, '')).filter((l) => RANK[l] === undefined && !SHELLS.has(l));
    expect(unplaced).toEqual([]);
  });

  it('no stage imports a later stage or a shell', () => {
    expect(backEdges(src)).toEqual([]);
  });

  it('nothing below the CLI reads the environment: the CLI builds the Context', () => {
    const readers = walk(src).filter((f) => !relative(src, f).startsWith('cli/') && /process\.env\b/.test(readFileSync(f, 'utf8')));
    expect(readers.map((f) => relative(src, f))).toEqual([]);
  });
});
