import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../../src/config/validate.js';
import { XbError, problemLines } from '../../../src/errors.js';
import { matchAll, resolveNames } from '../../../src/names/match.js';
import { planRenames, renameInState } from '../../../src/plan/rename-plan.js';
import { render } from '../../../src/plan/render.js';
import { verifyState } from '../../../src/verify/state.js';
import type { HostState, Link } from '../../../src/state/types.js';

let index = 1;
const link = (name: string, mac: string, extra: Partial<Link> = {}): Link => ({
  ifindex: index++, name, kind: 'device', kindName: 'device', up: false, operstate: 'DOWN', carrier: true, mtu: 1500, mac,
  peerElsewhere: false, addrs: [], ...extra, noarp: extra.noarp ?? false,
});
const state = (links: Link[], kernel = '6.1.0-28-amd64'): HostState => ({ links, routes: [], vlans: [], kernel });
const topo = (names: string, bridges = ''): ReturnType<typeof parseTopology> =>
  parseTopology(`version: 1\nnames:\n${names}${bridges ? `bridges:\n${bridges}` : ''}`, 't.yaml');

const MAC = '52:54:00:12:34:56';
const problems = (f: () => unknown): string[] => {
  try {
    f();
  } catch (e) {
    if (e instanceof XbError) return [`${e.kind}: ${e.message}`, ...problemLines(e.problems), ...e.detail];
    throw e;
  }
  throw new Error('expected an error');
};

describe('matching names rules to NICs', () => {
  it('never matches a bridge, a VLAN device or a same-namespace veth that shares the NIC\'s MAC', () => {
    const s = state([
      link('br0', MAC, { kind: 'bridge', kindName: 'bridge' }),
      link('eth0.10', MAC, { kind: 'vlan', kindName: 'vlan', link: 'eth0', vlanId: 10 }),
      link('v0', MAC, { kind: 'veth', kindName: 'veth', link: 'v0p' }),
      link('eth0', MAC),
    ]);
    const [m] = matchAll(topo(`  - name: fe0\n    match: { mac: "${MAC}" }\n`), s);
    expect(m?.nic?.name).toBe('eth0');
  });

  it('says which non-NIC links carry the MAC when no NIC does', () => {
    const s = state([link('br0', MAC, { kind: 'bridge', kindName: 'bridge' }), link('eth1', '52:54:00:00:00:01')]);
    expect(problems(() => resolveNames(topo(`  - name: fe0\n    match: { mac: "${MAC}" }\n`), s))).toEqual([
      'config: t.yaml: each names rule must match exactly one NIC (1 problem); nothing was changed',
      `t.yaml:3:5: names[0] (fe0, mac ${MAC}): no NIC has MAC ${MAC} (br0 is a bridge; only NICs are renamed)`,
      'NICs here:',
      '  eth1 52:54:00:00:00:01',
    ]);
  });

  it('matches the permanent MAC when the current one was changed', () => {
    const s = state([link('eth0', '02:00:00:00:00:09', { permaddr: MAC })]);
    expect(matchAll(topo(`  - name: fe0\n    match: { mac: "${MAC}" }\n`), s)[0]?.nic?.name).toBe('eth0');
  });

  it('finds a taken-over NIC without a permanent MAC through the MAC dom0\'s interface took from it', () => {
    const s = state([
      link('xenbr0', '52:54:00:9f:c0:7a', { kind: 'bridge', kindName: 'bridge' }),
      link('pfe0', 'fe:ff:ff:ff:ff:ff', { kind: 'veth', kindName: 'veth', peerElsewhere: true, master: 'xenbr0' }),
      link('xenbr0-d0', 'fe:ff:ff:ff:ff:ff', { kind: 'veth', kindName: 'veth', link: 'fe0', master: 'xenbr0' }),
      link('fe0', MAC, { kind: 'veth', kindName: 'veth', link: 'xenbr0-d0' }),
    ]);
    const t = topo(`  - name: fe0\n    match: { mac: "${MAC}" }\n`, '  - name: xenbr0\n    uplink: fe0\n');
    const [m] = matchAll(t, s);
    expect([m?.nic?.name, m?.target]).toEqual(['pfe0', 'pfe0']);
    expect(planRenames(t, s).steps).toEqual([]);
  });

  it('counts driver + index in PCI order and reports ties and short lists', () => {
    const s = state([
      link('eth0', '52:54:00:00:00:01', { driver: 'e1000e', pci: '0000:03:00.1' }),
      link('eth1', '52:54:00:00:00:02', { driver: 'e1000e', pci: '0000:03:00.0' }),
      link('eth2', '52:54:00:00:00:03', { driver: 'mlx4_en', pci: '0000:05:00.0' }),
      link('eth3', '52:54:00:00:00:04', { driver: 'mlx4_en', pci: '0000:05:00.0' }),
    ]);
    const rules = [
      '  - name: fe0\n    match: { driver: e1000e }\n',
      '  - name: be0\n    match: { driver: e1000e, index: 1 }\n',
      '  - name: x0\n    match: { driver: e1000e, index: 2 }\n',
      '  - name: m0\n    match: { driver: mlx4_en, index: 1 }\n',
      '  - name: n0\n    match: { driver: ixgbe }\n',
    ].join('');
    const out = matchAll(topo(rules), s).map((m) => m.nic?.name ?? m.problem);
    expect(out).toEqual([
      'eth1',
      'eth0',
      'index 2 asks for NIC #3 of driver e1000e, but there are 2: eth1, eth0',
      'eth2, eth3 share PCI address 0000:05:00.0, so PCI order cannot tell them apart',
      'no NIC uses driver ixgbe',
    ]);
  });

  it('matches by PCI address, and an ifname rule still finds its NIC after the rename', () => {
    const s = state([link('eth0', MAC, { pci: '0000:03:00.0' }), link('be0', '52:54:00:00:00:02')]);
    const t = topo('  - name: fe0\n    match: { pci: "0000:03:00.0" }\n  - name: be0\n    match: { ifname: eth1 }\n');
    expect(matchAll(t, s).map((m) => m.nic?.name)).toEqual(['eth0', 'be0']);
  });

  it('rejects two rules that match the same NIC', () => {
    const s = state([link('eth0', MAC, { pci: '0000:03:00.0' })]);
    const t = topo(`  - name: fe0\n    match: { pci: "0000:03:00.0" }\n  - name: be0\n    match: { mac: "${MAC}" }\n`);
    expect(problems(() => resolveNames(t, s))[1]).toBe('t.yaml:5:5: names[1] (be0) and names[0] (fe0) both match eth0');
  });
});

describe('rename planning', () => {
  it('refuses a target name held by a link that is not renamed away', () => {
    const s = state([link('eth0', MAC), link('fe0', '02:00:00:00:00:01', { kind: 'bridge', kindName: 'bridge' })]);
    expect(problems(() => planRenames(topo(`  - name: fe0\n    match: { mac: "${MAC}" }\n`), s))).toEqual([
      'state: t.yaml:3:5: names[0] cannot rename eth0 to fe0: fe0 is already a bridge',
      'rename or delete fe0, or choose another name in the file',
    ]);
  });

  it('projects the renames onto masters, peers, routes, VLAN entries and address labels', () => {
    const s: HostState = {
      ...state([
        link('eth0', MAC, { master: 'br0', addrs: [{ family: 4, local: '192.0.2.10', prefixlen: 24, scope: 'global', label: 'eth0:mgmt', flags: [], managed: false }] }),
        link('eth0.10', MAC, { kind: 'vlan', kindName: 'vlan', link: 'eth0', vlanId: 10 }),
      ]),
      routes: [{ family: 4, dst: 'default', gateway: '192.0.2.1', dev: 'eth0', onlink: false }],
      vlans: [{ dev: 'eth0', vid: 10, pvid: false, untagged: false }],
    };
    const p = renameInState(s, [{ from: 'eth0', to: 'fe0' }]);
    expect(p.links.map((l) => [l.name, l.link, l.addrs[0]?.label])).toEqual([['fe0', undefined, 'fe0:mgmt'], ['eth0.10', 'fe0', undefined]]);
    expect([p.routes[0]?.dev, p.vlans[0]?.dev]).toEqual(['fe0', 'fe0']);
    expect(s.links[0]?.name).toBe('eth0');
  });

  it('a swap that also takes over one NIC renames both here, since the takeover cannot free the name in time', () => {
    const s = state([link('eth0', MAC), link('eth1', '52:54:00:00:00:02')], '6.12.0');
    const t = topo(`  - name: eth1\n    match: { mac: "${MAC}" }\n  - name: eth0\n    match: { mac: "52:54:00:00:00:02" }\n`, '  - name: xenbr0\n    uplink: eth0\n    dom0: { ifname: dom0 }\n');
    const p = planRenames(t, s);
    expect(p.steps.map((x) => render(x.op).line)).toEqual(['link set dev eth0 name xb-swap0', 'link set dev eth1 name eth0', 'link set dev xb-swap0 name eth1']);
    expect(p.uplinks.size).toBe(0);
  });
});

describe('validation of names against bridges', () => {
  it('accepts a rule naming the NIC a bridge keeps as its uplink port, and rejects one naming another NIC\'s port', () => {
    const ok = topo('  - name: fe0\n    match: { ifname: eth3 }\n', '  - name: xenbr0\n    uplink: fe0\n    dom0: { ifname: dom0 }\n');
    expect(ok.bridges[0]?.uplinkPort).toBe('fe0');
    expect(problems(() => topo('  - name: pfe0\n    match: { ifname: eth3 }\n', '  - name: xenbr0\n    uplink: fe0\n'))).toEqual([
      'config: t.yaml: 1 problem; nothing was changed',
      't.yaml:3:11: names[0]: "pfe0" is also the uplink port of bridges[0]',
    ]);
  });
});

describe('verify', () => {
  it('names the rule that matches no NIC, and reports a NIC still to rename as a difference', () => {
    const s = state([link('eth0', MAC)]);
    expect(verifyState(topo('  - name: fe0\n    match: { mac: "52:54:00:99:99:99" }\n'), s).differences[1]).toBe('t.yaml:3:5: names[0] (fe0, mac 52:54:00:99:99:99): no NIC has MAC 52:54:00:99:99:99');
    expect(verifyState(topo(`  - name: fe0\n    match: { mac: "${MAC}" }\n`), s)).toEqual({ ok: false, differences: ['ip link set dev eth0 name fe0'], findings: [] });
  });
});
