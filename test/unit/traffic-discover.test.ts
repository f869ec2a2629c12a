// Pure parts of traffic verify on layouts without a file: discovery from the live state, the
// guests' paths from probe ports, the probe targets, and the layout findings.
import { describe, expect, it } from 'vitest';
import type { BridgeSpec, Topology } from '../../src/model/topology.js';
import type { HostState } from '../../src/state/types.js';
import { coalesce, discoverTopology } from '../../src/verify/traffic/discover.js';
import { guestPlan } from '../../src/verify/traffic/guests.js';
import { layoutFindings } from '../../src/verify/traffic/layout-findings.js';
import { derivePaths } from '../../src/verify/traffic/paths.js';
import { NOBODY, parseNeighbours, pickTarget, type Neighbour, type WireSample } from '../../src/verify/traffic/targets.js';
import { sampleOf } from '../../src/verify/traffic/wire.js';
import { lab, labState, link, naiveState } from '../helpers/traffic-model.js';

/** The parts of a discovered bridge a person would check. */
const summary = (t: Topology) => t.bridges.map((b) => ({
  name: b.name, mode: b.mode, uplink: b.uplinkPort, dom0: `${b.dom0.ifname}/${b.dom0.peer}`,
  vlans: b.vlans.map((v) => `${v.id}:${v.device}${v.bridge ? `@${v.bridge}` : ''}${v.addresses.length ? `=${v.addresses.join(',')}` : ''}`),
}));

const NAMES = (n: number) => ({ ns: 'xbprobe-T', ports: [...Array(n).keys()].map((i) => `xbp${i}-T`), peers: [...Array(n).keys()].map((i) => `eth${i}`), macs: [...Array(n).keys()].map((i) => `02:00:00:00:00:0${i}`) });

const plan = (t: Topology, s: HostState, o: { neigh?: Neighbour[]; wire?: WireSample[]; extra?: number[] } = {}) => guestPlan({
  t, s, sel: [], firstIndex: 0, names: NAMES,
  extra: new Map(t.bridges.map((b) => [b.name, o.extra ?? []])),
  targetOf: (b: BridgeSpec, vid: number | null) => pickTarget(s, o.neigh ?? [], o.wire ?? [], b, vid),
});

/** Per path: its hops as dev:role:tag:checks, and its target. */
const hopsOf = (p: ReturnType<typeof plan>) => Object.fromEntries(p.paths.map((x) => [x.id, {
  origin: x.origin, target: x.target,
  hops: x.hops.map((h) => `${h.dev}:${h.role}:${h.tag ?? '-'}:${h.checks.map((c) => c.dir[0]).join('')}`),
}]));

/** Proxmox: VLAN-aware vmbr0 on eno1 (2-4094 except 20), dom0 on VLAN 10 through vmbr0.10, a guest tap on VLAN 20. */
const proxmoxState = (uplinkVids = [{ vid: 2, vidEnd: 19 }, { vid: 21, vidEnd: 4094 }]): HostState => ({
  links: [
    link('eno1', 'device', { master: 'vmbr0', mac: '52:54:00:00:00:01' }),
    link('vmbr0', 'bridge', { cidrs: ['192.0.2.10/24'], bridge: { stp: false, forwardDelay: 0, vlanFiltering: true } }),
    link('vmbr0.10', 'vlan', { vlanId: 10, link: 'vmbr0', cidrs: ['10.10.0.2/24'] }),
    link('tap100i0', 'other', { kindName: 'tun', master: 'vmbr0' }),
  ],
  routes: [{ family: 4, dst: 'default', gateway: '192.0.2.1', dev: 'vmbr0', onlink: false }],
  vlans: [
    { dev: 'eno1', vid: 1, pvid: true, untagged: true }, ...uplinkVids.map((v) => ({ dev: 'eno1', ...v, pvid: false, untagged: false })),
    { dev: 'vmbr0', vid: 1, pvid: true, untagged: true }, { dev: 'vmbr0', vid: 10, pvid: false, untagged: false },
    { dev: 'tap100i0', vid: 20, pvid: true, untagged: true },
  ],
  kernel: '6.12.0',
});

describe('discovery from the live state', () => {
  it("the seed's layout: the trunk xenbr0 on peth0, dom0 on the bridge itself, VLAN 10 from peth0.10", () => {
    expect(summary(discoverTopology(naiveState()))).toEqual([
      { name: 'xenbr0', mode: 'classic', uplink: 'peth0', dom0: 'xenbr0/xenbr0', vlans: ['10:peth0.10=10.10.0.2/24'] },
    ]);
  });

  it("xenbridge's own classic layout: per-VLAN bridges belong to the trunk, dom0 is the veth end", () => {
    expect(summary(discoverTopology(labState('classic')))).toEqual([
      { name: 'xenbr0', mode: 'classic', uplink: 'peth0', dom0: 'eth0/xenbr0-d0', vlans: ['10:eth0.10@xenbr0v10=10.10.0.2/24', '20:eth0.20@xenbr0v20'] },
    ]);
  });

  it('filtering layouts: VLANs from devices and port entries; wide ranges and the native VLAN 1 are not VLANs in use', () => {
    expect(summary(discoverTopology(labState('filtering')))).toEqual([
      { name: 'xenbr0', mode: 'filtering', uplink: 'peth0', dom0: 'eth0/xenbr0-d0', vlans: ['10:eth0.10=10.10.0.2/24', '20:eth0.20'] },
    ]);
    expect(summary(discoverTopology(proxmoxState()))).toEqual([
      { name: 'vmbr0', mode: 'filtering', uplink: 'eno1', dom0: 'vmbr0/vmbr0', vlans: ['10:vmbr0.10=10.10.0.2/24', '20:vmbr0.20'] },
    ]);
  });

  it("bridge -j lists a range VID by VID: it is joined back, so Proxmox's 2-4094 is no list of 4093 VLANs", () => {
    const each = [...Array(4093).keys()].map((i) => ({ dev: 'eno1', vid: i + 2, pvid: false, untagged: false }));
    const s = { ...proxmoxState([]), vlans: [...proxmoxState([]).vlans, ...each] };
    expect(coalesce(s.vlans).filter((e) => e.dev === 'eno1')).toEqual([
      { dev: 'eno1', vid: 1, pvid: true, untagged: true }, { dev: 'eno1', vid: 2, vidEnd: 4094, pvid: false, untagged: false },
    ]);
    expect(discoverTopology(s).bridges[0]?.vlans.map((v) => v.id)).toEqual([10, 20]);
    expect(layoutFindings(discoverTopology(s), s)).toEqual([]);
  });

  it('at most 32 VLANs per bridge get a probe; the others are named', () => {
    const s = naiveState();
    const p = plan(discoverTopology(s), s, { extra: [...Array(40).keys()].map((i) => i + 100) });
    expect(p.ports[0]?.vids).toHaveLength(32);
    expect(p.skipped).toEqual([{ id: 'guest on xenbr0', reason: '41 VLANs: probed the first 32; ask for others with --vlan (131, 132, 133, 134, 135, …)' }]);
  });

  it('VLANs heard on the uplink join the ones the state shows', () => {
    const wire: WireSample[] = [{ dev: 'peth0', vids: [10, 30], senders: [] }, { dev: 'eth9', vids: [40], senders: [] }];
    expect(discoverTopology(naiveState(), wire).bridges[0]?.vlans.map((v) => v.id)).toEqual([10, 30]);
  });

  it('dom0 paths follow the live links; a discovered VLAN without a dom0 interface is left to the probe ports', () => {
    const s = proxmoxState();
    const { paths, skipped } = derivePaths(discoverTopology(s), s, [], [], false, () => NOBODY);
    expect(paths.map((p) => [p.id, p.origin, p.hops.map((h) => `${h.dev}:${h.tag ?? '-'}`).join(' ')])).toEqual([
      ['untagged', 'vmbr0', 'vmbr0:- eno1:-'], ['vlan 10', 'vmbr0.10', 'vmbr0.10:- vmbr0:10 eno1:10'],
    ]);
    expect(skipped).toEqual([{ id: 'vlan 20', reason: 'dom0 has no interface on VLAN 20' }]);
  });
});

describe('guest paths from probe ports', () => {
  it("the seed's layout: one port on xenbr0, untagged and tagged 10, each to the uplink", () => {
    const s = naiveState();
    const p = plan(discoverTopology(s), s, { neigh: [{ dst: '10.10.0.1', dev: 'peth0.10', state: ['REACHABLE'] }] });
    expect(p.ports).toEqual([{ port: 'xbp0-T', bridge: 'xenbr0', peer: 'eth0', mac: '02:00:00:00:00:00', vids: [10], filtering: false, mtu: 1500 }]);
    expect(p.tagged).toEqual(new Map([['xbp0-T', [10]]]));
    expect(hopsOf(p)).toEqual({
      'guest on xenbr0, untagged': { origin: 'eth0', target: '192.0.2.1', hops: ['xbp0-T:probe:-:rr', 'peth0:uplink:-:rr'] },
      'guest on xenbr0, vlan 10': { origin: 'eth0.10', target: '10.10.0.1', hops: ['xbp0-T:probe:10:rr', 'peth0:uplink:10:rr'] },
    });
  });

  it('classic per-VLAN bridges get an access probe whose chain runs down through dom0 to the uplink', () => {
    const t = lab('classic');
    const p = plan(t, labState('classic'));
    expect(p.ports.map((x) => `${x.port}@${x.bridge}:${x.vids.join(',')}`)).toEqual(['xbp0-T@xenbr0:10,20', 'xbp1-T@xenbr0v10:', 'xbp2-T@xenbr0v20:']);
    const h = hopsOf(p);
    expect(h['guest on xenbr0v10 (vlan 10, access)']).toEqual({
      origin: 'eth1', target: '10.10.0.1',
      hops: ['xbp1-T:probe:-:rr', 'eth0.10:vlan-device:-:rr', 'eth0:dom0-veth:10:rr', 'xenbr0-d0:bridge-port:10:rr', 'peth0:uplink:10:rr'],
    });
    expect(Object.keys(h)).toEqual(['guest on xenbr0, untagged', 'guest on xenbr0, vlan 10', 'guest on xenbr0, vlan 20', 'guest on xenbr0v10 (vlan 10, access)', 'guest on xenbr0v20 (vlan 20, access)']);
  });

  it("a probe port takes its bridge's MTU: a 1500-byte port would shrink a jumbo bridge while the probes run", () => {
    const s = labState('classic');
    const jumbo = { ...s, links: s.links.map((l) => (l.name === 'xenbr0v10' ? { ...l, mtu: 9000 } : l)) };
    expect(plan(lab('classic'), jumbo).ports.map((x) => `${x.bridge}:${x.mtu}`)).toEqual(['xenbr0:1500', 'xenbr0v10:9000', 'xenbr0v20:1500']);
  });

  it('filtering bridges: the port carries the VLANs tagged; the uplink tag follows its entries; --vlan adds a VLAN', () => {
    const s = proxmoxState();
    const p = plan(discoverTopology(s), s, { extra: [30] });
    expect(p.ports).toEqual([{ port: 'xbp0-T', bridge: 'vmbr0', peer: 'eth0', mac: '02:00:00:00:00:00', vids: [10, 20, 30], filtering: true, mtu: 1500 }]);
    expect(Object.values(hopsOf(p)).map((x) => `${x.target} ${x.hops.join(' ')}`)).toEqual([
      '192.0.2.1 xbp0-T:probe:-:rr eno1:uplink:-:rr',
      '10.10.0.2 xbp0-T:probe:10:rr eno1:uplink:10:r',
      `${NOBODY} xbp0-T:probe:20:r eno1:uplink:20:r`,
      `${NOBODY} xbp0-T:probe:30:r eno1:uplink:30:r`,
    ]);
  });

  it('a bridge that is gone, or has no uplink, is skipped with the reason', () => {
    const s: HostState = { ...naiveState(), links: naiveState().links.filter((l) => l.name !== 'peth0') };
    const t = discoverTopology(naiveState());
    expect(plan(t, s).skipped).toEqual([
      { id: 'guest on xenbr0, untagged', reason: 'xenbr0 has no uplink port' },
      { id: 'guest on xenbr0, vlan 10', reason: 'xenbr0 has no uplink port' },
    ]);
    expect(plan(t, { ...s, links: [] }).skipped).toEqual([{ id: 'guest on xenbr0', reason: 'xenbr0 is not a bridge in the live state' }]);
  });

  it('a bridge whose name ip -batch would read as a comment or a quote gets no probe port', () => {
    const s: HostState = { ...naiveState(), links: naiveState().links.map((l) => (l.name === 'xenbr0' ? { ...l, name: 'br#0' } : l.master === 'xenbr0' ? { ...l, master: 'br#0' } : l)) };
    const p = plan(discoverTopology(s), s);
    expect([p.ports, p.skipped]).toEqual([[], [{ id: 'guest on "br#0"', reason: 'its name cannot be written in an ip -batch line (quotes, #, backslash)' }]]);
  });
});

describe('probe targets', () => {
  const s = naiveState();
  const b = discoverTopology(s).bridges[0] as BridgeSpec;
  it('in order: the file, a route, a neighbour, an address heard on the uplink, dom0, nobody', () => {
    expect(pickTarget(s, [], [], { ...b, dom0: { ...b.dom0, gateway: '192.0.2.254' } }, null)).toMatchObject({ address: '192.0.2.254', from: 'the file' });
    expect(pickTarget(s, [], [], b, null)).toMatchObject({ address: '192.0.2.1', answers: 'upstream' });
    const neigh = parseNeighbours([
      { dst: '10.10.0.9', dev: 'peth0.10', state: ['FAILED'] }, { dst: 'fe80::1', dev: 'peth0.10', state: ['STALE'] },
      { dst: '10.10.0.1', dev: 'peth0.10', lladdr: '5a:00:00:00:00:99', state: ['STALE'] },
    ]);
    expect(neigh).toEqual([{ dst: '10.10.0.1', dev: 'peth0.10', state: ['STALE'] }]);
    expect(pickTarget(s, neigh, [], b, 10)).toEqual({ address: '10.10.0.1', answers: 'upstream', from: "dom0's neighbour table (peth0.10)" });
    const wire = [{ dev: 'peth0', vids: [10], senders: [{ vid: 10, address: '10.10.0.2' }, { vid: 10, address: '10.10.0.7' }] }];
    expect(pickTarget(s, [], wire, b, 10)).toEqual({ address: '10.10.0.7', answers: 'upstream', from: 'ARP heard on peth0' });
    expect(pickTarget(s, [], [], b, 10)).toEqual({ address: '10.10.0.2', answers: 'dom0', from: "dom0's own address" });
    expect(pickTarget(s, [], [], b, 30).answers).toBe('none');
  });

  it('a short listen keeps the VLANs heard and who spoke ARP on each', () => {
    const f = (vids: number[], spa?: string) => ({ dst: 'ff:ff:ff:ff:ff:ff', src: '5a:00:00:00:00:99', vids, ethertype: 0x0806, length: 46, body: Buffer.alloc(0), ...(spa ? { arp: { op: 1, sha: '5a:00:00:00:00:99', spa, tha: '00:00:00:00:00:00', tpa: '10.0.0.1' } } : {}) });
    expect(sampleOf('peth0', [f([20], '10.20.0.1'), f([10]), f([], '192.0.2.1'), f([20], '10.20.0.1'), f([30], '0.0.0.0')])).toEqual({
      dev: 'peth0', vids: [10, 20, 30], senders: [{ vid: 20, address: '10.20.0.1' }, { vid: null, address: '192.0.2.1' }],
    });
  });
});

describe('layout findings', () => {
  it("the seed's VLAN device on a bridge port; on a filtering bridge's uplink it says so", () => {
    expect(layoutFindings(discoverTopology(naiveState()), naiveState()).map((f) => [f.level, f.rule, f.fix])).toEqual([
      ['error', 'vlan-on-bridge-port', "move the VLAN device onto dom0's side of the bridge (a VLAN device on dom0's veth end, in a per-VLAN bridge: what xenbridge apply builds), or use mode: filtering"],
    ]);
    const s = proxmoxState([{ vid: 2, vidEnd: 4094 }]);
    s.links.push(link('eno1.10', 'vlan', { vlanId: 10, link: 'eno1' }));
    expect(layoutFindings(discoverTopology(s), s).map((f) => f.rule)).toEqual(['vlan-on-filtering-uplink']);
  });

  it('a VID the ports carry but the uplink does not, and a PVID on dom0\'s side that is not the uplink\'s', () => {
    const s = proxmoxState();
    expect(layoutFindings(discoverTopology(s), s).map((f) => [f.rule, f.message, f.fix])).toEqual([
      ['vid-not-on-uplink', 'VLAN 20 is on tap100i0 but the uplink eno1 of vmbr0 does not carry it: VLAN 20 never leaves or reaches the host', 'bridge vlan add dev eno1 vid 20'],
    ]);
    const bad = { ...proxmoxState([{ vid: 2, vidEnd: 4094 }]) };
    bad.vlans = bad.vlans.map((e) => (e.dev === 'vmbr0' && e.vid === 1 ? { ...e, vid: 5 } : e));
    expect(layoutFindings(discoverTopology(bad), bad).map((f) => [f.rule, f.fix])).toEqual([
      ['pvid-mismatch', 'bridge vlan add dev vmbr0 self vid 1 pvid untagged (or give eno1 PVID 5)'],
    ]);
  });
});
