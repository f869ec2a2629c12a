// Golden plan cases: test/cases/<name>/{topology.yaml, current.json (captured with
// test/helpers/capture-state.sh), plan.txt, undo.txt}. undo.txt is what undoing the plan runs (what
// stop runs after an apply of it); a case whose plan is an error has none. UPDATE_GOLDEN=1 rewrites
// plan.txt and undo.txt; review the diff.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/validate.js';
import { isXbError, problemLines } from '../../src/errors.js';
import { makePlan } from '../../src/plan/diff.js';
import { planText, undoText } from '../../src/plan/format.js';
import { loadCurrent } from '../helpers/current.js';
import { ROOT } from '../helpers/sh.js';

const CASES = join(ROOT, 'test/cases');

const planFor = (dir: string): { plan: string; undo?: string } => {
  const t = parseTopology(readFileSync(join(dir, 'topology.yaml'), 'utf8'), 'topology.yaml');
  try {
    const p = makePlan(t, loadCurrent(join(dir, 'current.json')));
    return { plan: planText(p), undo: undoText(p) };
  } catch (e) {
    if (!isXbError(e)) throw e;
    return { plan: `error (${e.kind}): ${e.message}\n${[...problemLines(e.problems), ...e.detail].map((d) => `  ${d}\n`).join('')}` };
  }
};

const golden = (file: string, got: string | undefined): string | undefined => {
  if (process.env.UPDATE_GOLDEN === '1') {
    if (got === undefined) rmSync(file, { force: true });
    else writeFileSync(file, got);
  }
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
};

describe('golden plans', () => {
  const names = readdirSync(CASES).filter((n) => existsSync(join(CASES, n, 'topology.yaml')));
  it('has the cases the core promises', () => {
    expect(names).toEqual(expect.arrayContaining(['takeover-eth0', 'classic-vlans', 'filtering-vlans', 'already-applied', 'vlan-on-nic']));
  });
  it.each(names)('%s', (name) => {
    const dir = join(CASES, name);
    const got = planFor(dir);
    expect(got.plan).toBe(golden(join(dir, 'plan.txt'), got.plan));
    expect(got.undo).toBe(golden(join(dir, 'undo.txt'), got.undo));
  });
});
