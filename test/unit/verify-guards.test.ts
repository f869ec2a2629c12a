import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/validate.js';
import { unguardedVifFindings } from '../../src/verify/guards.js';
import type { Link } from '../../src/state/types.js';

const T = parseTopology(`version: 1
bridges:
  - name: xenbr0
    uplink: eth0
    vlans:
      - id: 10
  - name: trusted
    uplink: eth1
    vif-antispoof: false
    insecure-vif-all-tags: true
  - name: open
    uplink: eth2
    vif-antispoof: false
`, 'unguarded.yaml');

const port = (name: string, master: string | undefined, extra: Partial<Link> = {}): Link => ({
  ifindex: 1, name, kind: 'other', kindName: '', up: true, noarp: false, operstate: 'UP', carrier: true, mtu: 1500,
  mac: '00:16:3e:00:00:01', ...(master ? { master } : {}), peerElsewhere: false, addrs: [], ...extra,
});

describe('vif ports with no guard and no record', () => {
  it('are found by netback parent or by Xen default name, on every bridge whose vifs get guards', () => {
    const links = [
      port('vif1.0', 'xenbr0'),
      port('web1', 'xenbr0v10', { parentbus: 'xen-backend', parentdev: 'vif-2-0' }),
      port('vif3.0-emu', 'xenbr0v20'),
      port('vif4.0', 'open'),
      port('vif5.0', 'trusted'),
      port('eth0', 'xenbr0'),
      port('vif6.0', undefined),
      port('vif7.0', 'xenbr0'),
      port('vif8.0', 'xenbr0v'),
      port('vif9.0', 'other'),
    ];
    const f = unguardedVifFindings(T, { links }, [{ dev: 'vif7.0', state: 'ok' }]);
    expect(f.map((x) => [x.level, x.rule, x.message.split(' with ')[0]])).toEqual([
      ['error', 'vif-guard-unrecorded', 'vif1.0 is a port of xenbr0'],
      ['error', 'vif-guard-unrecorded', 'web1 is a port of xenbr0v10'],
      ['error', 'vif-guard-unrecorded', 'vif3.0-emu is a port of xenbr0v20'],
      ['error', 'vif-guard-unrecorded', 'vif4.0 is a port of open'],
    ]);
    expect(f[0]?.fix).toContain('vif=vif1.0 xenbridge vif online type_if=vif');
  });
});
