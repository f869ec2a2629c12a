// Golden boot-time naming files: test/golden/persist/<backend>/etc/... UPDATE_GOLDEN=1 rewrites them.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../../src/config/validate.js';
import { XbError } from '../../../src/errors.js';
import { isKernelStyle, kernelStyleWarnings, renderPersist, type Backend } from '../../../src/names/persist.js';
import type { Link } from '../../../src/state/types.js';
import { ROOT } from '../../helpers/sh.js';

const GOLDEN = join(ROOT, 'test/golden/persist');

const t = parseTopology(`version: 1
names:
  - name: fe0
    match: { mac: "52:54:00:12:34:56" }
  - name: be0
    match: { pci: "0000:03:00.0" }
  - name: san0
    match: { driver: e1000e, index: 1 }
  - name: mgmt0
    match: { ifname: eno1 }
  - name: eth1
    match: { driver: virtio_net }
`, 'topology.yaml');

const nic = (name: string, extra: Partial<Link>): Link => ({
  ifindex: 3, name, kind: 'device', kindName: 'device', up: true, operstate: 'UP', carrier: true, mtu: 1500, mac: '52:54:00:00:00:01', peerElsewhere: false, addrs: [], ...extra, noarp: extra.noarp ?? false,
});
// What the driver rules match on the host now: a PCI port, and a NIC without a PCI address.
const nics = [undefined, undefined, nic('enp3s0f1', { driver: 'e1000e', pci: '0000:03:00.1' }), undefined, nic('eth0', { driver: 'virtio_net', permaddr: '52:54:00:aa:bb:cc', mac: 'fe:ff:ff:ff:ff:ff' })];

describe.each(['systemd', 'udev'] as Backend[])('%s naming files', (backend) => {
  it('match the golden files', () => {
    const files = renderPersist(backend, t.names, nics);
    expect(files.map((f) => f.path)).toEqual(backend === 'systemd'
      ? ['fe0', 'be0', 'san0', 'mgmt0', 'eth1'].map((n) => `/etc/systemd/network/10-xenbridge-${n}.link`)
      : ['/etc/udev/rules.d/70-xenbridge-names.rules']);
    for (const f of files) {
      const golden = join(GOLDEN, backend, f.path);
      if (process.env.UPDATE_GOLDEN === '1') {
        mkdirSync(dirname(golden), { recursive: true });
        writeFileSync(golden, f.text);
      }
      expect(f.text, f.path).toBe(readFileSync(golden, 'utf8'));
    }
  });

  it('refuse a driver rule that matches no NIC here, since its PCI path cannot be known', () => {
    expect(() => renderPersist(backend, t.names, [])).toThrow(XbError);
    expect(() => renderPersist(backend, t.names, [])).toThrow('topology.yaml:7:5: names[2] (san0, driver e1000e index 1) must match a NIC on this host to be written down');
  });
});

describe('kernel-style target names', () => {
  it('are recognised', () => {
    expect(['eth0', 'eth12', 'wlan0', 'ib1', 'usb0', 'wwan0'].every(isKernelStyle)).toBe(true);
    expect(['fe0', 'eth', 'eth0a', 'peth0', 'enp3s0', 'lan0'].some(isKernelStyle)).toBe(false);
  });

  it('get a warning naming the rule and the race', () => {
    expect(kernelStyleWarnings(t.names)).toEqual([
      'topology.yaml:11:5: names[4] (eth1) is a kernel-style name: at boot the kernel may give eth1 to another NIC first, and the rename then fails with "File exists" (systemd#7293, #16665); a name like fe0 or lan0 cannot collide',
    ]);
  });
});

describe('what the rule files would read as patterns or substitutions', () => {
  const problems = (names: string): string[] => {
    try {
      parseTopology(`version: 1\nnames:\n${names}`, 'n.yaml');
    } catch (e) {
      return (e as XbError).problems.map((p) => `${p.where}: ${p.message}`);
    }
    return [];
  };
  it.each([
    ['  - name: "lan$kernel"\n    match: { mac: "52:54:00:12:34:56" }\n', 'n.yaml:3:11: names[0].name: interface name "lan$kernel" contains a character udev or systemd would read as a pattern or a substitution (* ? [ ] | $)'],
    ['  - name: fe0\n    match: { ifname: "eth*" }\n', 'n.yaml:4:22: names[0].match.ifname: interface name "eth*" contains a character udev or systemd would read as a pattern or a substitution (* ? [ ] | $)'],
    ['  - name: fe0\n    match: { driver: "e1000*" }\n', 'n.yaml:4:22: names[0].match.driver: "e1000*" is not a driver name (letters, digits, _ and -, as in ixgbe or virtio_net)'],
    ['  - name: fe0\n    match: { driver: "a\\"\\n# b" }\n', 'n.yaml:4:22: names[0].match.driver: "a\\"\\u000a# b" is not a driver name (letters, digits, _ and -, as in ixgbe or virtio_net)'],
  ])('%j is refused where it is written', (names, problem) => {
    expect(problems(names)).toEqual([problem]);
  });
});
