// Golden cases of the vif hook's planner: test/vif-cases/<name>/{topology.yaml, event.yaml,
// state.yaml, batch.txt}. UPDATE_GOLDEN=1 rewrites batch.txt; review the diff.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { vifCase } from '../helpers/vif-case.js';
import { ROOT } from '../helpers/sh.js';

const CASES = join(ROOT, 'test/vif-cases');

describe('golden vif plans', () => {
  const names = readdirSync(CASES).filter((n) => existsSync(join(CASES, n, 'event.yaml')));
  it('has a case for each kind of port', () => {
    expect(names.length).toBeGreaterThanOrEqual(8);
  });
  it.each(names)('%s', (name) => {
    const dir = join(CASES, name);
    const got = vifCase(dir);
    const golden = join(dir, 'batch.txt');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, got);
    expect(got).toBe(readFileSync(golden, 'utf8'));
  });
});
