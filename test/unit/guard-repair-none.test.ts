// With no guard record in the run directory, apply's guard repair asks nothing of the kernel:
// a host without vif guards pays no nft process on every apply.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { planGuardRepair } from '../../src/apply/guard-repair.js';
import type { Runner } from '../../src/exec/runner.js';

const noProcess: Runner = new Proxy({} as Runner, { get: () => () => { throw new Error('a process was started'); } });

it('plans nothing and starts no process when no guard is recorded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xenbridge-guards-'));
  try {
    expect(await planGuardRepair(noProcess, dir)).toEqual({ steps: [], notes: [], gone: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
