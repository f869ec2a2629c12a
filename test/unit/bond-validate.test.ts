import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/validate.js';
import { configProblems } from '../helpers/errors.js';

const problems = configProblems;

const file = (bond: string, bridges = '  - name: xenbr0\n    uplink: bond0\n'): string =>
  `version: 1\nbonds:\n  - name: bond0\n${bond}bridges:\n${bridges}`;

describe('bonds in the topology file', () => {
  it('reads a bond with every option, and leaves unset options unset', () => {
    const t = parseTopology(file('    mode: 802.3ad\n    members: [eth0, eth1]\n    miimon: 50\n    lacp-rate: fast\n    xmit-hash-policy: layer3+4\n'), 't.yaml');
    expect(t.bonds).toEqual([expect.objectContaining({ name: 'bond0', mode: '802.3ad', members: ['eth0', 'eth1'], miimon: 50, lacpRate: 'fast', xmitHashPolicy: 'layer3+4' })]);
    expect(t.bridges[0]).toMatchObject({ uplink: 'bond0', uplinkPort: 'pbond0', dom0: { ifname: 'bond0' } });
    const plain = parseTopology(file('    mode: active-backup\n    members: [eth0]\n'), 't.yaml');
    expect(plain.bonds[0]).toMatchObject({ miimon: undefined, lacpRate: undefined, xmitHashPolicy: undefined });
  });

  const cases: [string, string, string[]][] = [
    ['unknown mode', file('    mode: lacp\n    members: [eth0]\n'), ['t.yaml:4:11: bonds[0].mode: unknown bond mode "lacp" (one of balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb)']],
    ['lacp-rate outside 802.3ad', file('    mode: active-backup\n    members: [eth0]\n    lacp-rate: fast\n'), ['t.yaml:6:5: bonds[0]: lacp-rate needs mode 802.3ad (this bond\'s is active-backup)']],
    ['hash policy in active-backup', file('    mode: active-backup\n    members: [eth0]\n    xmit-hash-policy: layer2\n'), ['t.yaml:6:5: bonds[0]: xmit-hash-policy needs mode balance-xor, 802.3ad, balance-tlb, balance-alb (this bond\'s is active-backup)']],
    ['unknown hash policy', file('    mode: 802.3ad\n    members: [eth0]\n    xmit-hash-policy: layer4\n'), ['t.yaml:6:23: bonds[0].xmit-hash-policy: unknown xmit-hash-policy "layer4" (one of layer2, layer2+3, layer3+4, encap2+3, encap3+4, vlan+srcmac)']],
    ['miimon out of range', file('    mode: 802.3ad\n    members: [eth0]\n    miimon: 0\n'), ['t.yaml:6:13: bonds[0].miimon: miimon (milliseconds) must be an integer from 1 to 60000, got 0']],
    ['no members', file('    mode: 802.3ad\n    members: []\n'), ['t.yaml:5:14: bonds[0].members: a bond needs at least one member']],
    ['member listed twice', file('    mode: 802.3ad\n    members: [eth0, eth0]\n'), ['t.yaml:5:21: bonds[0].members: eth0 is listed twice']],
    ['member that is a bridge port', file('    mode: 802.3ad\n    members: [eth0, eth1]\n', '  - name: xenbr0\n    uplink: bond0\n  - name: xenbr1\n    uplink: eth1\n'), [
      't.yaml:5:21: eth1 cannot be a member of bond bond0: it is also the uplink (a port) of bridges[1]',
    ]],
    ['member of two bonds', 'version: 1\nbonds:\n  - {name: bond0, mode: 802.3ad, members: [eth0, eth1]}\n  - {name: bond1, mode: active-backup, members: [eth1]}\nbridges:\n  - {name: xenbr0, uplink: bond0}\n  - {name: xenbr1, uplink: bond1}\n', [
      't.yaml:4:50: eth1 is a member of two bonds: bonds[0] and bonds[1]',
    ]],
    ['member named like the bridge', file('    mode: 802.3ad\n    members: [xenbr0]\n'), ['t.yaml:5:15: xenbr0 cannot be a member of bond bond0: it is also the bridge of bridges[0]']],
    ['a names: rule giving a NIC the bond\'s name', `${file('    mode: 802.3ad\n    members: [eth0]\n')}names:\n  - name: bond0\n    match: { mac: "52:54:00:12:34:56" }\n`, [
      't.yaml:10:11: names[0]: "bond0" is the name of bond bonds[0]; a NIC cannot take it',
    ]],
    ['bond no bridge uses', file('    mode: 802.3ad\n    members: [eth0]\n', '  - name: xenbr0\n    uplink: eth1\n'), [
      't.yaml:3:11: bonds[0]: bond bond0 is no bridge\'s uplink; set uplink: bond0 on the bridge it serves',
    ]],
  ];
  it.each(cases)('%s', (_name, yaml, expected) => {
    expect(problems(yaml)).toEqual(expected);
  });
});
