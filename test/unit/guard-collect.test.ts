// The threshold at which an offline removes the retired guards: 32 unless the CLI's environment
// lowers it (test/netns/hookd.test.ts runs the removal with 4), and a bad value is a usage error.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contextFor } from '../../src/cli/context.js';
import { contextIn } from '../../src/context.js';
import { isXbError } from '../../src/errors.js';
import { collectThreshold } from '../../src/xen/vif-hook.js';

const runDir = join(tmpdir(), `xenbridge-none-${process.pid}`, 'run');
const ctx = (env: Record<string, string>) => contextFor({ runDir }, {}, env);

describe('the guard collection threshold', () => {
  it('is 32 by default, the value the environment gives otherwise, and kept in another scope', () => {
    expect(collectThreshold(ctx({}))).toBe(32);
    expect(collectThreshold(ctx({ XENBRIDGE_GUARD_COLLECT_AT: '' }))).toBe(32);
    expect(collectThreshold(ctx({ XENBRIDGE_GUARD_COLLECT_AT: '4' }))).toBe(4);
    expect(collectThreshold(contextIn(ctx({ XENBRIDGE_GUARD_COLLECT_AT: '4' }), 'other'))).toBe(4);
  });

  it.each(['0', '-1', '4.5', 'x', '1e3', '1234567'])('refuses %s with one line naming the variable', (v) => {
    const err = (() => { try { ctx({ XENBRIDGE_GUARD_COLLECT_AT: v }); } catch (e) { return e; } })();
    expect(isXbError(err) && [err.kind, err.message]).toEqual(['usage', `XENBRIDGE_GUARD_COLLECT_AT must be a whole number above 0, got "${v}"`]);
  });
});
