// show and lint of a bond uplink, from the states the golden cases plan from.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { showModel } from '../../src/show/model.js';
import { renderTopologyYaml, renderTree } from '../../src/show/render.js';
import type { HostState, Link } from '../../src/state/types.js';
import { lint } from '../../src/verify/lint.js';
import { loadCurrent } from '../helpers/current.js';
import { ROOT } from '../helpers/sh.js';

/** The adopted bond's state as the takeover leaves it: bond0 renamed pbond0, a port of xenbr0. */
const applied = (): HostState => {
  const s = loadCurrent(join(ROOT, 'test/cases/bond-adopt/current.json'));
  const rn = (l: Link): Link => ({ ...l, name: l.name === 'bond0' ? 'pbond0' : l.name, master: l.master === 'bond0' ? 'pbond0' : l.master, addrs: l.name === 'bond0' ? [] : l.addrs });
  const links = s.links.map(rn);
  const bond = links.find((l) => l.name === 'pbond0')!;
  bond.master = 'xenbr0';
  const bridge: Link = { ...bond, ifindex: 10, name: 'xenbr0', kind: 'bridge', kindName: 'bridge', master: undefined, bond: undefined, bridge: { stp: false, forwardDelay: 0, vlanFiltering: false } };
  const dom0: Link = { ...bond, ifindex: 11, name: 'bond0', kind: 'veth', kindName: 'veth', master: undefined, bond: undefined, link: 'xenbr0-d0', addrs: s.links.find((l) => l.name === 'bond0')!.addrs };
  const peer: Link = { ...dom0, ifindex: 12, name: 'xenbr0-d0', link: 'bond0', master: 'xenbr0', addrs: [] };
  return { ...s, links: [...links, bridge, dom0, peer], routes: s.routes.map((r) => ({ ...r, dev: r.dev === 'bond0' ? 'bond0' : r.dev })) };
};

describe('a bond as the uplink', () => {
  it('is shown as the uplink with its members, and as a bonds entry of the topology show writes', () => {
    const shown = showModel(applied());
    expect(shown.bridges[0]?.uplink).toMatchObject({
      name: 'pbond0',
      bond: { mode: '802.3ad', miimon: 100, lacpRate: 'slow', xmitHashPolicy: 'layer2', members: [{ name: 'eth0', state: 'ACTIVE', link: 'UP', lacpPartner: true }, { name: 'eth1', state: 'ACTIVE', link: 'UP', lacpPartner: true }] },
    });
    expect(renderTree(shown).split('\n')[1]).toBe('├─ pbond0  uplink  bond 802.3ad: eth0 active, eth1 active');
    expect(renderTopologyYaml(shown)).toContain('bonds:\n  - name: pbond0\n    mode: 802.3ad\n    members:\n      - eth0\n      - eth1\n    miimon: 100\n    lacp-rate: slow\n    xmit-hash-policy: layer2\n');
  });

  it('lint: a VLAN device on the bond steals its VID like one on a NIC; a member down or without a partner is named', () => {
    const s = applied();
    const bond = s.links.find((l) => l.name === 'pbond0')!;
    s.links.push({ ...bond, ifindex: 20, name: 'pbond0.10', kind: 'vlan', kindName: 'vlan', master: undefined, bond: undefined, link: 'pbond0', vlanId: 10 });
    const eth1 = s.links.find((l) => l.name === 'eth1')!;
    eth1.bondSlave = { state: 'BACKUP', miiStatus: 'DOWN', partnerState: 0 };
    const eth0 = s.links.find((l) => l.name === 'eth0')!;
    eth0.bondSlave = { ...eth0.bondSlave!, partnerState: 0x45 };
    expect(lint(s).map((f) => [f.rule, f.message])).toEqual([
      ['vlan-on-bridge-port', "pbond0.10 (VLAN 10) sits on pbond0, a port of xenbr0: it takes VLAN 10's frames before xenbr0 sees them, so guests on xenbr0 lose VLAN 10"],
      ['lacp-no-partner', 'eth0, a member of 802.3ad bond pbond0, has no LACP partner in sync (partner state 0x45): it carries no traffic'],
      ['bond-member-down', 'eth1, a member of bond pbond0, is without link: the bond runs on fewer links'],
    ]);
  });
});
