import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/validate.js';
import { makePlan } from '../../src/plan/diff.js';
import { showModel } from '../../src/show/model.js';
import { renderTopologyYaml, renderTree } from '../../src/show/render.js';
import type { HostState } from '../../src/state/types.js';
import { loadCurrent } from '../helpers/current.js';
import { ROOT } from '../helpers/sh.js';
import { opText } from '../../src/plan/render.js';

const state = loadCurrent(join(ROOT, 'test/cases/already-applied/current.json'));

describe('show', () => {
  it('prints the applied takeover as a tree', () => {
    expect(renderTree(showModel(state))).toBe(
      'xenbr0  classic, mtu 1500, stp off\n' +
      '├─ peth0  uplink\n' +
      '└─ xenbr0-d0 <-> eth0  dom0  192.0.2.10/24  via 192.0.2.1\n',
    );
  });

  it('--format yaml is a topology file that the live state already satisfies', () => {
    const yaml = renderTopologyYaml(showModel(state));
    const t = parseTopology(yaml, 'shown.yaml');
    expect(t.bridges[0]).toMatchObject({ name: 'xenbr0', uplink: 'peth0', uplinkPort: 'peth0', dom0: { ifname: 'eth0', peer: 'xenbr0-d0', gateway: '192.0.2.1' } });
    expect(makePlan(t, state).steps).toEqual([]);
  });

  it('a dom0 holding a lease is shown as dhcp, and the shown file plans nothing while the client runs', () => {
    const leased: HostState = {
      ...state,
      links: state.links.map((l) => (l.name !== 'eth0' ? l : { ...l, addrs: l.addrs.map((a) => (a.family === 4 ? { ...a, managed: true, validLft: 97, preferredLft: 82 } : a)) })),
      routes: state.routes.map((r) => (r.dev === 'eth0' ? { ...r, protocol: 'dhcp', metric: 1002 } : r)),
      dhcp: { dir: '/run/xenbridge/host/dhcp', running: ['eth0'] },
    };
    const yaml = renderTopologyYaml(showModel(leased));
    expect(yaml).toContain('addresses: dhcp\n');
    expect(yaml).not.toContain('gateway');
    expect(renderTree(showModel(leased))).toContain('eth0  dom0  dhcp\n');
    const t = parseTopology(yaml, 'shown.yaml');
    expect(makePlan(t, leased).steps).toEqual([]);
    expect(makePlan(t, { ...leased, dhcp: { dir: '/run/xenbridge/host/dhcp', running: [] } }).steps.map((st) => opText(st.op))).toEqual(['dhcp start eth0 /run/xenbridge/host/dhcp -']);
  });

  it('SLAAC and DHCPv6 addresses are shown as slaac and dhcp6, the advertised route left out; the shown file plans nothing', () => {
    const v6 = (local: string, prefixlen: number, flags: string[]) => ({ family: 6 as const, local, prefixlen, scope: 'global', flags, managed: true, validLft: 1799, preferredLft: 1799 });
    const s: HostState = {
      ...state,
      links: state.links.map((l) => (l.name !== 'eth0' ? l : { ...l, addrs: [...l.addrs, v6('2001:db8::5054:ff:fe12:3456', 64, ['mngtmpaddr']), v6('2001:db8::14d', 128, ['noprefixroute'])] })),
      routes: [...state.routes, { family: 6, dst: 'default', gateway: 'fe80::1', dev: 'eth0', protocol: 'ra', metric: 1024, onlink: false }],
      dhcp: { dir: '/run/xenbridge/host/dhcp', running: [], running6: ['eth0'] },
      ipv6Conf: { default: { acceptRa: 1, autoconf: 1, forwarding: 0 }, eth0: { acceptRa: 1, autoconf: 1, forwarding: 0 } },
    };
    const yaml = renderTopologyYaml(showModel(s));
    expect(yaml).toMatch(/addresses:\n\s+- slaac\n\s+- dhcp6\n\s+- 192\.0\.2\.10\/24\n/);
    expect(yaml).not.toContain('fe80::1');
    expect(makePlan(parseTopology(yaml, 'shown.yaml'), s).steps).toEqual([]);
    // Advertisements off on dom0's interface: the plan turns them on, and only that.
    const off = { ...s, ipv6Conf: { ...s.ipv6Conf, eth0: { acceptRa: 0, autoconf: 1, forwarding: 0 } } };
    expect(makePlan(parseTopology(yaml, 'shown.yaml'), off).steps.map((st) => opText(st.op))).toEqual(['sysctl set eth0 accept_ra 1']);
  });

  it('lists NICs with MAC, PCI address and driver for stable naming', () => {
    const nics = showModel(state, { peth0: 'virtio_net' }).nics;
    expect(nics).toEqual([{ name: 'peth0', mac: 'fe:ff:ff:ff:ff:ff', permaddr: undefined, pci: undefined, driver: 'virtio_net', up: true, master: 'xenbr0' }]);
  });
});
