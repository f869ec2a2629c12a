// The validated-topology cache: an entry stands for exactly the bytes it was made from, is only
// read from a directory no one else can write, and plans exactly like the file it came from.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { loadTopologyCached } from '../../src/config/cache.js';
import { parseTopology } from '../../src/config/validate.js';
import { makePlan } from '../../src/plan/diff.js';
import { planText } from '../../src/plan/format.js';
import { loadCurrent } from '../helpers/current.js';
import { ROOT } from '../helpers/sh.js';

let dir: string;
let file: string;
let entry: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xenbridge-cache-'));
  chmodSync(dir, 0o700);
  file = join(dir, 'topology.yaml');
  entry = join(dir, 'run/topology-cache/host.json');
  mkdirSync(join(dir, 'run'), { mode: 0o700 });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const yaml = (name: string): string => `version: 1\nbridges:\n  - name: ${name}\n    dom0: {ifname: h0}\n`;

it('a saved entry is used for the same bytes and replaced when the file changes', async () => {
  writeFileSync(file, yaml('xenbr0'));
  const first = await loadTopologyCached(file, entry);
  first.save();
  // The entry, not the file, answers: an entry edited in place shows through only while the key matches.
  const v = JSON.parse(readFileSync(entry, 'utf8')) as { key: string; topology: { bridges: { name: string }[] } };
  v.topology.bridges[0]!.name = 'fromcache';
  writeFileSync(entry, JSON.stringify(v));
  expect((await loadTopologyCached(file, entry)).topology.bridges[0]?.name).toBe('fromcache');
  writeFileSync(file, yaml('xenbr1'));
  const changed = await loadTopologyCached(file, entry);
  expect(changed.topology.bridges[0]?.name).toBe('xenbr1');
  changed.save();
  expect((await loadTopologyCached(file, entry)).topology.bridges[0]?.name).toBe('xenbr1');
});

it('nothing is written until save, and an entry in a directory others can write is ignored', async () => {
  writeFileSync(file, yaml('xenbr0'));
  await loadTopologyCached(file, entry);
  expect(readdirSync(join(dir, 'run'))).toEqual([]);
  (await loadTopologyCached(file, entry)).save();
  const v = JSON.parse(readFileSync(entry, 'utf8')) as { topology: { bridges: { name: string }[] } };
  v.topology.bridges[0]!.name = 'planted';
  writeFileSync(entry, JSON.stringify({ ...v, key: (JSON.parse(readFileSync(entry, 'utf8')) as { key: string }).key }));
  chmodSync(join(dir, 'run/topology-cache'), 0o777);
  expect((await loadTopologyCached(file, entry)).topology.bridges[0]?.name).toBe('xenbr0');
});

it('a garbled entry is parsed afresh, and a bad file is the same clear config error as without the cache', async () => {
  writeFileSync(file, yaml('xenbr0'));
  (await loadTopologyCached(file, entry)).save();
  writeFileSync(entry, '{"key":');
  expect((await loadTopologyCached(file, entry)).topology.bridges[0]?.name).toBe('xenbr0');
  writeFileSync(file, 'version: 2\n');
  await expect(loadTopologyCached(file, entry)).rejects.toMatchObject({ kind: 'config' });
});

it.each(readdirSync(join(ROOT, 'test/cases')))('plans %s from the cached entry exactly as from the file', async (name) => {
  const caseDir = join(ROOT, 'test/cases', name);
  const text = readFileSync(join(caseDir, 'topology.yaml'), 'utf8');
  writeFileSync(file, text);
  (await loadTopologyCached(file, entry)).save();
  // Marked in the entry (planning reads no such field): the load below must come from it, not the file.
  const saved = JSON.parse(readFileSync(entry, 'utf8')) as { topology: Record<string, unknown> };
  writeFileSync(entry, JSON.stringify({ ...saved, topology: { ...saved.topology, fromEntry: true } }));
  const fromCache = (await loadTopologyCached(file, entry)).topology;
  expect((fromCache as unknown as { fromEntry?: boolean }).fromEntry).toBe(true);
  const current = loadCurrent(join(caseDir, 'current.json'));
  const plan = (t: ReturnType<typeof parseTopology>): string => {
    try {
      return planText(makePlan(t, current));
    } catch (e) {
      return String(e);
    }
  };
  expect(plan(fromCache)).toBe(plan(parseTopology(text, file)));
});
