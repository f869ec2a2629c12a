import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lint } from '../../src/verify/lint.js';
import { loadCurrent } from '../helpers/current.js';
import { ROOT } from '../helpers/sh.js';

describe('lint of known-bad layouts', () => {
  it('finds the seed\'s naive layout: a VLAN device on a bridge port', () => {
    const s = loadCurrent(join(ROOT, 'test/cases/vlan-on-nic/current.json'));
    const nic = s.links.find((l) => l.name === 'eth0')!;
    nic.master = 'xenbr0';
    const f = lint(s).filter((x) => x.rule === 'vlan-on-bridge-port');
    expect(f).toHaveLength(1);
    expect(f[0]?.message).toBe("eth0.10 (VLAN 10) sits on eth0, a port of xenbr0: it takes VLAN 10's frames before xenbr0 sees them, so guests on xenbr0 lose VLAN 10");
    expect(f[0]?.level).toBe('error');
  });

  it('finds nothing wrong with the applied takeover', () => {
    const s = loadCurrent(join(ROOT, 'test/cases/already-applied/current.json'));
    expect(lint(s)).toEqual([]);
  });
});
