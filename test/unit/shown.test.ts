/**
 * Values from outside as error and log lines show them: quoted, printable ASCII only (a raw CR or
 * ESC from a guest's xenstore key must not forge or hide a log line), and short enough for
 * xenstore's hotplug-error (4096 bytes at most) whatever the value's length.
 */
import { describe, expect, it } from 'vitest';
import { parseBridgeRequest } from '../../src/model/bridge-spec.js';
import { shown } from '../../src/errors.js';
import { parseVlanKey } from '../../src/model/vlan-key.js';
import { guardOf } from '../../src/xen/vif-guard.js';
import { mtuOf } from '../../src/xen/vif-hook.js';

const message = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('no error');
};

/** Deterministic pseudo-random strings over the whole BMP and beyond (a fixed seed: the same cases every run). */
const strings = (n: number): string[] => {
  let x = 0x2545f491;
  const next = (): number => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x >>> 0; };
  return Array.from({ length: n }, () => {
    const len = next() % 300;
    let s = '';
    for (let i = 0; i < len; i++) {
      const r = next() % 10;
      s += r < 3 ? String.fromCharCode(next() % 0x20) : r < 6 ? String.fromCharCode(0x20 + (next() % 0x5f)) : String.fromCodePoint(next() % 0x10ffff & ~0x800);
    }
    return s;
  });
};

describe('shown', () => {
  it.each([
    ['xenbr0', '"xenbr0"'],
    ['', '""'],
    ['a"b\\c', '"a\\"b\\\\c"'],
    ['xenbr0\r[2026-01-01] forged\u001b[2K', '"xenbr0\\u000d[2026-01-01] forged\\u001b[2K"'],
    ['line\u2028sep\u202eevil', '"line\\u2028sep\\u202eevil"'],
    ['é', '"\\u00e9"'],
    ['x'.repeat(65), `"${'x'.repeat(64)}"... (65 characters)`],
  ])('%j as %s', (value, want) => expect(shown(value)).toBe(want));

  it('is printable ASCII and bounded for any value; plain ASCII shows as JSON does', () => {
    for (const s of strings(500)) {
      const out = shown(s);
      expect(out).toMatch(/^[\x20-\x7e]*$/);
      expect(out.length).toBeLessThanOrEqual(2 + 64 * 6 + 30);
      if (/^[\x20-\x7e]{0,64}$/.test(s)) expect(out).toBe(JSON.stringify(s));
    }
  });
});

describe('a guest\'s xenstore values in the hook\'s errors', () => {
  const huge = `xenbr0\r\u001b[2K${'é'.repeat(3000)}`;
  it.each([
    ['bridge', () => parseBridgeRequest(huge)],
    ['bridge tag', () => parseBridgeRequest(`xenbr0.${huge.replace(/[.:]/g, '')}`)],
    ['vlan', () => parseVlanKey(huge)],
    ['mtu', () => mtuOf({ mtu: huge })],
  ])('%s: one short line of printable ASCII', (_what, f) => {
    const m = message(f);
    expect(m).toMatch(/^[\x20-\x7e]+$/);
    expect(m.length).toBeLessThan(1000);
  });
  it('an IPv6 zone is no address of a guest (nft and ip would not take it)', () => {
    const target = { spec: { name: 'xenbr0', vifAntispoof: true } } as unknown as Parameters<typeof guardOf>[0];
    expect(message(() => guardOf(target, { mac: '00:16:3e:00:00:01', ip: '192.0.2.5 fe80::1%eth0' }, 'vif1.0'))).toBe('ip "192.0.2.5 fe80::1%eth0": "fe80::1%eth0" is not an IP address');
    expect(message(() => guardOf(target, { mac: '00:16:3e:00:00:01', ip: 'fe80::1%eth0/64' }, 'vif1.0'))).toBe('ip "fe80::1%eth0/64": "fe80::1%eth0/64" is not an IP address');
  });
  it('mac and ip too', () => {
    const target = { spec: { name: 'xenbr0', vifAntispoof: true } } as unknown as Parameters<typeof guardOf>[0];
    for (const keys of [{ mac: huge }, { mac: '00:16:3e:00:00:01', ip: huge }]) {
      const m = message(() => guardOf(target, keys, 'vif1.0'));
      expect(m).toMatch(/^[\x20-\x7e]+$/);
      expect(m.length).toBeLessThan(1000);
    }
  });
});
