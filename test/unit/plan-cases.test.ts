// Golden plan cases: test/cases/<name>/{topology.yaml, current.json (captured with
// test/helpers/capture-state.sh), plan.txt}. UPDATE_GOLDEN=1 rewrites plan.txt; review the diff.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/validate.js';
import { isXbError, problemLines } from '../../src/errors.js';
import { makePlan } from '../../src/plan/diff.js';
import { planText } from '../../src/plan/format.js';
import { loadCurrent } from '../helpers/current.js';
import { ROOT } from '../helpers/sh.js';

const CASES = join(ROOT, 'test/cases');

const planFor = (dir: string): string => {
  const t = parseTopology(readFileSync(join(dir, 'topology.yaml'), 'utf8'), 'topology.yaml');
  try {
    return planText(makePlan(t, loadCurrent(join(dir, 'current.json'))));
  } catch (e) {
    if (!isXbError(e)) throw e;
    return `error (${e.kind}): ${e.message}\n${[...problemLines(e.problems), ...e.detail].map((d) => `  ${d}\n`).join('')}`;
  }
};

describe('golden plans', () => {
  const names = readdirSync(CASES).filter((n) => existsSync(join(CASES, n, 'topology.yaml')));
  it('has the cases the core promises', () => {
    expect(names).toEqual(expect.arrayContaining(['takeover-eth0', 'classic-vlans', 'filtering-vlans', 'already-applied', 'vlan-on-nic']));
  });
  it.each(names)('%s', (name) => {
    const dir = join(CASES, name);
    const got = planFor(dir);
    const golden = join(dir, 'plan.txt');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, got);
    expect(got).toBe(readFileSync(golden, 'utf8'));
  });
});
