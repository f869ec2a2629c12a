// Golden compat cases: test/golden/compat/<case>/ holds one file per host (show JSON, an Ansible
// --tree result, or a topology file) and matrix.txt. UPDATE_GOLDEN=1 rewrites matrix.txt.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFleet, checkPair } from '../../src/compat/check.js';
import { readHost } from '../../src/compat/input.js';
import { renderMatrix } from '../../src/compat/render.js';
import { minus, normalize, vidText } from '../../src/compat/vid-set.js';
import { ROOT } from '../helpers/sh.js';

const CASES = join(ROOT, 'test/golden/compat');
const plain = (ok: boolean): string => (ok ? 'ok' : 'FAIL');
const hostsOf = (dir: string): string[] => readdirSync(dir).filter((f) => f !== 'matrix.txt').sort().map((f) => join(dir, f));

describe('compat matrix', () => {
  it.each(readdirSync(CASES))('%s', (name) => {
    const dir = join(CASES, name);
    const got = renderMatrix(checkFleet(hostsOf(dir).map(readHost)), plain);
    const golden = join(dir, 'matrix.txt');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, got);
    expect(got).toBe(readFileSync(golden, 'utf8'));
  });

  it('a fleet that agrees is ok both ways, whatever mix of inputs described it', () => {
    const r = checkFleet(hostsOf(join(CASES, 'same-fleet')).map(readHost));
    expect([r.ok, r.hosts, r.pairs.map((p) => p.ok)]).toEqual([true, ['web1', 'web2'], [true, true]]);
  });

  it('is directional: a host that allows more VLANs can take the other\'s domUs, not the reverse', () => {
    const [h1, h2] = hostsOf(join(CASES, 'drift')).map(readHost);
    expect(checkPair(h2!, h1!)).toEqual({ from: 'h2', to: 'h1', ok: true, reasons: [] });
    expect(checkPair(h1!, h2!).reasons).toEqual(['xenbr0: VLAN 100-199 allowed on h1, not on h2']);
  });

  it('marks with ✓ and ✗ when asked', () => {
    const text = renderMatrix(checkFleet(hostsOf(join(CASES, 'drift')).map(readHost)), (ok) => (ok ? '✓' : '✗'));
    expect(text.split('\n').slice(0, 4)).toEqual(['from \\ to  h1  h2  h3', 'h1         -   ✗   ✗', 'h2         ✓   -   ✗', 'h3         ✗   ✗   -']);
  });
});

describe('VID sets', () => {
  it('subtract ranges', () => {
    const a = normalize([{ start: 100, end: 199 }, { start: 10, end: 10 }, { start: 20, end: 20 }]);
    expect(vidText(minus(a, [{ start: 150, end: 160 }, { start: 10, end: 10 }]))).toBe('20, 100-149, 161-199');
    expect(minus(a, [{ start: 1, end: 4094 }])).toEqual([]);
  });
});

describe('compat inputs', () => {
  const tmp = (name: string, text: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'xb-compat-'));
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const usage = (file: string): string => {
    try {
      readHost(file);
    } catch (e) {
      return `${(e as { kind: string }).kind}: ${(e as Error).message}`;
    } finally {
      rmSync(join(file, '..'), { recursive: true, force: true });
    }
    throw new Error('expected an error');
  };

  it('says what a file is not', () => {
    const f = tmp('x.json', '{"hello": 1}');
    expect(usage(f)).toBe(`usage: ${f} is neither "xenbridge show --format json" output nor a topology file`);
  });

  it('reports a host where the gathering command failed', () => {
    const f = tmp('web9', JSON.stringify({ rc: 127, stdout: '', stderr: '/bin/sh: xenbridge: not found', cmd: 'xenbridge show --format json' }));
    expect(usage(f)).toBe(`usage: ${f}: the command failed on that host (rc 127): /bin/sh: xenbridge: not found`);
  });

  it.each([
    ['a VLAN id below 0', '{"bridges": [{"name": "xenbr0", "mode": "classic", "mtu": 1500, "vlans": [{"id": -1}]}], "nics": []}', 'bridges[0].vlans[0] needs an id from 0 to 4094'],
    ['a fractional VLAN id', '{"bridges": [{"name": "xenbr0", "mode": "classic", "mtu": 1500, "vlans": [{"id": 1.5}]}], "nics": []}', 'bridges[0].vlans[0] needs an id from 0 to 4094'],
    ['a bridge name with an escape', '{"bridges": [{"name": "a\\u001b[31m", "mode": "classic", "mtu": 1500, "vlans": []}], "nics": []}', 'bridges[0].name: interface name "a\\u001b[31m" contains non-printable or non-ASCII characters'],
    ['a VLAN bridge with a terminal title', '{"bridges": [{"name": "xenbr0", "mode": "classic", "mtu": 1500, "vlans": [{"id": 10, "bridge": "\\u001b]0;pwn\\u0007"}]}], "nics": []}', 'bridges[0].vlans[0].bridge: interface name "\\u001b]0;pwn\\u0007" contains non-printable or non-ASCII characters'],
    ['an MTU of 0', '{"bridges": [{"name": "xenbr0", "mode": "classic", "mtu": 0, "vlans": []}], "nics": []}', 'bridges[0].mtu: 0 is not an MTU (68-65535)'],
  ])('refuses %s in show output, every value escaped', (_what, text, why) => {
    const f = tmp('web4.json', text);
    expect(usage(f)).toBe(`usage: ${f} is not "xenbridge show --format json" output: ${why}`);
  });

  it('shows a long error of the failed command cut and escaped, as text', () => {
    const f = tmp('web8', JSON.stringify({ rc: 1, stdout: '', stderr: `\u001b[31m${'x'.repeat(300)}\nsecond line` }));
    expect(usage(f)).toBe(`usage: ${f}: the command failed on that host (rc 1): \\u001b[31m${'x'.repeat(195)}... (305 characters)`);
  });

  it('checks the fields it reads in show output', () => {
    const f = tmp('web3.json', '{"bridges": [{"name": "xenbr0", "mode": "vepa", "mtu": 1500, "vlans": []}], "nics": []}');
    expect(usage(f)).toBe(`usage: ${f} is not "xenbridge show --format json" output: bridges[0] needs name, mode (classic or filtering), mtu and vlans`);
  });
});
