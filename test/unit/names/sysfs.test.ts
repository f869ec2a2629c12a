import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLinks } from '../../../src/state/parse.js';
import { pciOfPath, sysfsLookup, withDevices } from '../../../src/state/sysfs.js';
import type { Link } from '../../../src/state/types.js';
import { sh } from '../../helpers/sh.js';

const nic = (name: string, extra: Partial<Link> = {}): Link => ({
  ifindex: 2, name, kind: 'device', kindName: 'device', up: true, operstate: 'UP', carrier: true, mtu: 1500, mac: '52:54:00:12:34:56', peerElsewhere: false, addrs: [], ...extra, noarp: extra.noarp ?? false,
});

// A small sysfs: a PCI NIC (e1000e at 0000:03:00.0) and a virtio NIC below PCI function 0000:00:03.0.
const root = mkdtempSync(join(tmpdir(), 'xb-sysfs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dir = (p: string): string => {
  mkdirSync(join(root, p), { recursive: true });
  return join(root, p);
};
const link = (at: string, target: string): void => {
  mkdirSync(join(root, at, '..'), { recursive: true });
  symlinkSync(target, join(root, at));
};
dir('devices/pci0000:00/0000:00:1c.0/0000:03:00.0/net/enp3s0');
dir('devices/pci0000:00/0000:00:03.0/virtio2/net/eth0');
dir('bus/pci/drivers/e1000e');
dir('bus/virtio/drivers/virtio_net');
link('bus/pci/devices/0000:03:00.0', '../../../devices/pci0000:00/0000:00:1c.0/0000:03:00.0');
link('bus/virtio/devices/virtio2', '../../../devices/pci0000:00/0000:00:03.0/virtio2');
link('devices/pci0000:00/0000:00:1c.0/0000:03:00.0/driver', '../../../../bus/pci/drivers/e1000e');
link('devices/pci0000:00/0000:00:03.0/virtio2/driver', '../../../../bus/virtio/drivers/virtio_net');
link('class/net/eth0', '../../devices/pci0000:00/0000:00:03.0/virtio2/net/eth0');
link('devices/pci0000:00/0000:00:03.0/virtio2/net/eth0/device', '../../../virtio2');

describe('driver and PCI address from sysfs', () => {
  it('reads them through the bus the kernel names, which is the same from every namespace', () => {
    const look = sysfsLookup({ root, netns: 'elsewhere' });
    expect(look(nic('enp3s0', { parentbus: 'pci', parentdev: '0000:03:00.0' }))).toEqual({ driver: 'e1000e', pci: '0000:03:00.0' });
    expect(look(nic('eth0', { parentbus: 'virtio', parentdev: 'virtio2' }))).toEqual({ driver: 'virtio_net', pci: '0000:00:03.0' });
  });

  it('falls back to /sys/class/net/<name>/device only for our own namespace (older kernels give no parent)', () => {
    expect(sysfsLookup({ root })(nic('eth0'))).toEqual({ driver: 'virtio_net', pci: '0000:00:03.0' });
    expect(sysfsLookup({ root, netns: 'elsewhere' })(nic('eth0'))).toEqual({});
    expect(sysfsLookup({ root })(nic('nosuch0'))).toEqual({});
  });

  it('fills in NICs only, and keeps a PCI parent when sysfs says nothing', () => {
    const links = [nic('eth9', { parentbus: 'pci', parentdev: '0000:07:00.0' }), nic('br0', { kind: 'bridge', kindName: 'bridge' })];
    const out = withDevices(links, () => ({}));
    expect([out[0]?.pci, out[0]?.driver, out[1]]).toEqual(['0000:07:00.0', undefined, links[1]]);
  });

  it('finds the nearest PCI function on a device path', () => {
    expect(pciOfPath('/sys/devices/pci0000:00/0000:00:1c.0/0000:03:00.1')).toBe('0000:03:00.1');
    expect(pciOfPath('/sys/devices/platform/soc/eth0')).toBeUndefined();
  });

  it('agrees with /sys/class/net/<nic>/device on this machine for every NIC the kernel names a parent of', async () => {
    const links = parseLinks(JSON.parse(await sh('ip -j -d link show'))).filter((l) => l.parentbus);
    expect(links.length).toBeGreaterThan(0);
    const look = sysfsLookup();
    for (const l of links) {
      const dev = `/sys/class/net/${l.name}/device`;
      const expected = { driver: basename(readlinkSync(`${dev}/driver`)), pci: pciOfPath(realpathSync(dev)) };
      expect(look(l), l.name).toEqual(expected);
      expect(readdirSync(`/sys/bus/${l.parentbus}/devices`)).toContain(l.parentdev);
    }
  });
});
