// Timeouts from the environment: seconds from 0.1 to a day. Past that node's timers overflow to
// 1 ms (with a warning on stderr) and every xenstore call or lock wait would fail at once; so
// would 0. A bad value is one usage line naming the variable.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contextFor } from '../../src/cli/context.js';
import { isXbError } from '../../src/errors.js';

const runDir = join(tmpdir(), `xenbridge-none-${process.pid}`, 'run');
const ctx = (env: Record<string, string>) => contextFor({ runDir }, {}, env);

describe.each([['XENBRIDGE_XENSTORE_TIMEOUT', 0.1], ['XENBRIDGE_LOCK_TIMEOUT', 0]] as const)('%s', (name, min) => {
  const key = name === 'XENBRIDGE_XENSTORE_TIMEOUT' ? 'xenstoreTimeoutMs' : 'lockTimeoutMs';
  it.each([['0.1', 100], ['1', 1000], ['2.5', 2500], ['86400', 86_400_000]])('takes %j as %s ms', (v, ms) => {
    expect(ctx({ [name]: v })[key]).toBe(ms);
  });
  it('empty is unset: the default', () => {
    expect(ctx({ [name]: '' })[key]).toBe(ctx({})[key]);
    expect(ctx({})[key]).toBeGreaterThan(0);
  });
  it.each(['86401', '9999999999', '1e3', '-1', 'x', '1.2345', ' 1', '1\u001b[2K'])('refuses %j with one line naming the variable', (v) => {
    const err = (() => { try { ctx({ [name]: v }); } catch (e) { return e; } })();
    expect(isXbError(err) && [err.kind, err.message]).toEqual(['usage', `${name} must be a number of seconds from ${min} to 86400, got ${JSON.stringify(v)}`]);
  });
  it('0 and 0.05: the lock is tried once or nearly; xenstore would never answer in time', () => {
    for (const [v, ms] of [['0', 0], ['0.05', 50]] as const) {
      if (min === 0) expect(ctx({ [name]: v })[key]).toBe(ms);
      else expect(() => ctx({ [name]: v })).toThrow(`${name} must be a number of seconds from 0.1 to 86400, got "${v}"`);
    }
  });
});

describe('XENBRIDGE_KERNEL', () => {
  it.each(['6.12.0', '6.1.0-28-amd64', '6.12.48+deb13-amd64', '2.6.18', '6.6.52_1', '5.14.0-362.8.1.el9_3.x86_64', '6.1.0xen'])('takes %j', (v) => expect(ctx({ XENBRIDGE_KERNEL: v }).kernel).toBe(v));
  it.each(['garbage', '6', 'v6.1', '6.1 ', '6.1.0\u001b[2K'])('refuses %j: it would quietly pick the older takeover', (v) => {
    const err = (() => { try { ctx({ XENBRIDGE_KERNEL: v }); } catch (e) { return e; } })();
    expect(isXbError(err) && [err.kind, err.message]).toEqual(['usage', `XENBRIDGE_KERNEL must be a kernel release like 6.12.0, got ${JSON.stringify(v)}`]);
  });
});
