import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/validate.js';
import { configProblems } from '../helpers/errors.js';

const problems = configProblems;

const bridge = (body: string): string => `version: 1\nbridges:\n  - name: xenbr0\n${body}`;

describe('topology validation: each bad input gets a clear message with file:line:col', () => {
  const cases: [string, string, string[]][] = [
    ['unknown top-level key', 'version: 1\nbridge: []\n', ['t.yaml:2:1: unknown key "bridge" in the top level (allowed: version, bridges, bonds, names)']],
    ['missing version', 'bridges: []\n', ['t.yaml:1:1: the file needs "version: 1"']],
    ['wrong version', 'version: 2\n', ['t.yaml:1:10: version must be 1, got 2']],
    ['unknown bridge key', bridge('    uplnk: eth0\n'), ['t.yaml:4:5: unknown key "uplnk" in bridges[0] (allowed: name, uplink, uplink-port, mode, mtu, stp, forward-delay, mac, dom0, vlans, vif-vlans, vif-antispoof, insecure-vif-all-tags)']],
    ['name too long', 'version: 1\nbridges:\n  - name: averyveryverylongname\n', ['t.yaml:3:11: bridges[0].name: interface name "averyveryverylongname" is longer than 15 bytes']],
    ['name with slash', 'version: 1\nbridges:\n  - name: xen/br\n', ['t.yaml:3:11: bridges[0].name: interface name "xen/br" contains "/", ":" or whitespace']],
    ['name with colon', 'version: 1\nbridges:\n  - name: "xen:0"\n', ['t.yaml:3:11: bridges[0].name: interface name "xen:0" contains "/", ":" or whitespace']],
    ['VID out of range', bridge('    vlans:\n      - id: 4095\n'), ['t.yaml:5:13: bridges[0].vlans[0].id: VLAN ID must be an integer from 1 to 4094, got 4095']],
    ['VID zero', bridge('    vlans:\n      - id: 0\n'), ['t.yaml:5:13: bridges[0].vlans[0].id: VLAN ID must be an integer from 1 to 4094, got 0']],
    ['duplicate VID', bridge('    vlans:\n      - id: 10\n      - id: 10\n'), ['t.yaml:6:13: bridges[0]: VLAN 10 is listed twice (also vlans[0])']],
    ['bad CIDR', bridge('    dom0:\n      addresses: [192.0.2.300/24]\n'), ['t.yaml:5:19: bridges[0].dom0.addresses[0]: "192.0.2.300/24" is not an address with a prefix length (e.g. 192.0.2.10/24 or 2001:db8::10/64), nor dhcp, slaac or dhcp6']],
    ['CIDR without prefix', bridge('    dom0:\n      addresses: [192.0.2.3]\n'), ['t.yaml:5:19: bridges[0].dom0.addresses[0]: "192.0.2.3" is not an address with a prefix length (e.g. 192.0.2.10/24 or 2001:db8::10/64), nor dhcp, slaac or dhcp6']],
    ['gateway outside subnet', bridge('    dom0:\n      addresses: [192.0.2.10/24]\n      gateway: 198.51.100.1\n'), ['t.yaml:6:16: bridges[0].dom0.gateway: gateway 198.51.100.1 is outside every address\'s subnet (192.0.2.10/24)']],
    ['MTU too large', bridge('    mtu: 70000\n'), ['t.yaml:4:10: bridges[0].mtu: MTU must be an integer from 68 to 65535, got 70000']],
    ['a key written true', bridge('    true: 1\n'), ['t.yaml:4:5: unknown key "true" in bridges[0] (allowed: name, uplink, uplink-port, mode, mtu, stp, forward-delay, mac, dom0, vlans, vif-vlans, vif-antispoof, insecure-vif-all-tags)']],
    ['dhcp in capitals', bridge('    dom0:\n      addresses: DHCP\n'), ['t.yaml:5:18: bridges[0].dom0.addresses: "DHCP" is none of dhcp, slaac, dhcp6 (lowercase); addresses with a prefix go in a list']],
    ['a multicast bridge MAC', bridge('    mac: "01:00:5e:00:00:01"\n'), ['t.yaml:4:10: bridges[0].mac: 01:00:5e:00:00:01: a multicast or broadcast MAC (first octet odd) cannot be a bridge\'s own address']],
    ['Xen\'s port MAC as the bridge\'s', bridge('    mac: "FE:FF:FF:FF:FF:FF"\n'), ['t.yaml:4:10: bridges[0].mac: FE:FF:FF:FF:FF:FF: every vif port has this MAC (Xen gives it to them so that no port lends the bridge its own): the bridge needs another']],
    ['MTU not a number', bridge('    mtu: big\n'), ['t.yaml:4:10: bridges[0].mtu: MTU must be an integer from 68 to 65535, got "big"']],
    ['VLAN MTU above parent', bridge('    mtu: 1500\n    vlans:\n      - id: 10\n        mtu: 9000\n'), ['t.yaml:7:14: bridges[0].vlans[0]: VLAN MTU 9000 is larger than its parent\'s MTU 1500']],
    ['uplink used twice', 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n  - name: xenbr1\n    uplink: eth0\n', [
      't.yaml:6:13: uplink eth0 is used by two bridges: bridges[0] (xenbr0) and bridges[1] (xenbr1)',
    ]],
    ['uplink is a VLAN device', bridge('    uplink: eth0.10\n'), ['t.yaml:4:13: bridges[0].uplink: "eth0.10" is a VLAN device; a VLAN device must never be a bridge port (its VID\'s frames would bypass the bridge). Make the NIC the uplink and list the VLAN under vlans']],
    ['duplicate bridge names', 'version: 1\nbridges:\n  - name: xenbr0\n  - name: xenbr0\n', ['t.yaml:4:11: name "xenbr0" is used twice: bridge of bridges[0] and bridge of bridges[1]']],
    ['per-VLAN bridge name clashes', bridge('    vlans:\n      - id: 10\n        bridge: xenbr0\n'), ['t.yaml:6:17: name "xenbr0" is used twice: bridge of bridges[0] and VLAN 10 bridge of bridges[0]']],
    ['bridge key in filtering mode', bridge('    mode: filtering\n    vlans:\n      - id: 10\n        bridge: br10\n'), ['t.yaml:7:9: bridges[0].vlans[0]: per-VLAN bridges exist only in mode: classic']],
    ['VLAN 1 in filtering mode', bridge('    mode: filtering\n    vlans:\n      - id: 1\n'), ['t.yaml:6:13: bridges[0].vlans[0]: VLAN 1 is the bridge\'s untagged native VLAN in filtering mode; use another ID']],
    ['bad mode', bridge('    mode: vlan\n'), ['t.yaml:4:11: bridges[0].mode must be classic or filtering, got "vlan"']],
    ['bad vif-vlans range', bridge('    vif-vlans: ["200-100", 5000]\n'), [
      't.yaml:4:17: bridges[0].vif-vlans[0]: "200-100" is not a VLAN ID or range within 1-4094 (e.g. 100 or "100-199")',
      't.yaml:4:28: bridges[0].vif-vlans[1]: "5000" is not a VLAN ID or range within 1-4094 (e.g. 100 or "100-199")',
    ]],
    ['two default gateways', 'version: 1\nbridges:\n  - name: xenbr0\n    dom0: {addresses: [192.0.2.10/24], gateway: 192.0.2.1}\n    vlans:\n      - id: 10\n        addresses: [10.0.0.2/24]\n        gateway: 10.0.0.1\n', [
      't.yaml:8:18: a second IPv4 gateway: only one default route per address family (the first is at t.yaml:4:49)',
    ]],
    ['YAML syntax', 'version: 1\nbridges: [\n', ['t.yaml:3:1: Flow sequence in block collection must be sufficiently indented and end with a ]']],
    ['duplicate YAML key', 'version: 1\nversion: 1\n', ['t.yaml:2:1: Map keys must be unique']],
    ['dhcp beside a static IPv4 address', bridge('    dom0:\n      addresses: [dhcp, 192.0.2.10/24, 2001:db8::10/64]\n'), [
      't.yaml:5:25: bridges[0].dom0.addresses[1]: 192.0.2.10/24 is a static IPv4 address beside dhcp; the DHCP server gives dom0 its IPv4 address (list only IPv6 addresses with dhcp)',
    ]],
    ['dhcp with an IPv4 gateway', bridge('    dom0:\n      addresses: dhcp\n      gateway: 192.0.2.1\n'), ['t.yaml:6:16: bridges[0].dom0.gateway: 192.0.2.1: with dhcp the DHCP server gives the IPv4 default route; remove gateway']],
    ['dhcp listed twice', bridge('    dom0:\n      addresses: [dhcp, dhcp]\n'), ['t.yaml:5:25: bridges[0].dom0.addresses[1]: dhcp is listed twice']],
    ['dhcp on a VLAN', bridge('    vlans:\n      - id: 10\n        addresses: dhcp\n'), ['t.yaml:6:20: bridges[0].vlans[0].addresses: dhcp is for dom0.addresses only']],
    ['dhcp and a VLAN gateway', bridge('    dom0: {addresses: dhcp}\n    vlans:\n      - id: 10\n        addresses: [10.0.0.2/24]\n        gateway: 10.0.0.1\n'), [
      't.yaml:8:18: a second IPv4 gateway: only one default route per address family (the first is at t.yaml:4:23)',
    ]],
    ['a misspelt dhcp', bridge('    dom0:\n      addresses: dchp\n'), ['t.yaml:5:18: bridges[0].dom0.addresses: "dchp" is none of dhcp, slaac, dhcp6 (lowercase); addresses with a prefix go in a list']],
    ['stp forward delay below the kernel minimum', bridge('    stp: true\n    forward-delay: 1\n'), ['t.yaml:5:20: bridges[0].forward-delay: forward delay (seconds) must be an integer from 2 to 30, got 1']],
  ];
  it.each(cases)('%s', (_name, yaml, expected) => {
    expect(problems(yaml)).toEqual(expected);
  });

  it('collects every problem of a file at once', () => {
    const p = problems(bridge('    uplink: eth0.5\n    mtu: 10\n    vlans:\n      - id: 9999\n      - {id: 20, addresses: [nope]}\n'));
    expect(p).toHaveLength(4);
  });

  it('fills in the defaults a Xen admin expects', () => {
    const t = parseTopology(bridge('    uplink: eth0\n    vlans:\n      - id: 10\n    vif-vlans: [100-199, 300]\n'));
    const b = t.bridges[0]!;
    expect(b).toMatchObject({ mode: 'classic', stp: false, forwardDelay: 0, uplinkPort: 'peth0', dom0: { ifname: 'eth0', peer: 'xenbr0-d0' } });
    expect(b.vlans[0]).toMatchObject({ id: 10, bridge: 'xenbr0v10', device: 'eth0.10' });
    expect(b.vifVlans).toEqual([{ start: 100, end: 199 }, { start: 300, end: 300 }]);
  });

  it('reads dhcp alone or beside static IPv6 addresses', () => {
    expect(parseTopology(bridge('    uplink: eth0\n    dom0: {addresses: dhcp}\n')).bridges[0]?.dom0).toMatchObject({ dhcp: true, addresses: [] });
    const both = parseTopology(bridge('    dom0:\n      addresses: [dhcp, 2001:db8::10/64]\n      gateway: 2001:db8::1\n')).bridges[0]?.dom0;
    expect(both).toMatchObject({ dhcp: true, addresses: ['2001:db8::10/64'], gateway: '2001:db8::1' });
    expect(parseTopology(bridge('    uplink: eth0\n')).bridges[0]?.dom0.dhcp).toBe(false);
  });

  it('reads slaac and dhcp6 alone or beside dhcp and static addresses', () => {
    expect(parseTopology(bridge('    uplink: eth0\n    dom0: {addresses: slaac}\n')).bridges[0]?.dom0).toMatchObject({ slaac: true, dhcp6: false, dhcp: false, addresses: [] });
    const all = parseTopology(bridge('    dom0:\n      addresses: [dhcp, dhcp6, slaac, 2001:db8::10/64]\n')).bridges[0]?.dom0;
    expect(all).toMatchObject({ dhcp: true, slaac: true, dhcp6: true, addresses: ['2001:db8::10/64'] });
  });

  it.each([
    ['slaac twice', '    dom0: {addresses: [slaac, slaac]}\n', 't.yaml:4:31: bridges[0].dom0.addresses[1]: slaac is listed twice'],
    ['an IPv6 gateway beside dhcp6', '    dom0: {addresses: [dhcp6], gateway: "2001:db8::1"}\n', 't.yaml:4:41: bridges[0].dom0.gateway: 2001:db8::1: with dhcp6 the routers\' advertisements give the IPv6 default route; remove gateway'],
    ['slaac under 1280', '    mtu: 1200\n    dom0: {addresses: [slaac]}\n', 't.yaml:5:23: bridges[0].dom0.addresses: slaac needs IPv6, which needs an MTU of at least 1280; this bridge\'s is 1200'],
    ['slaac on a VLAN', '    vlans: [{id: 10, addresses: [slaac]}]\n', 't.yaml:4:34: bridges[0].vlans[0].addresses[0]: slaac is for dom0.addresses only'],
    ['a misspelt word', '    dom0: {addresses: [dhcpv6]}\n', 't.yaml:4:24: bridges[0].dom0.addresses[0]: "dhcpv6" is not an address with a prefix length (e.g. 192.0.2.10/24 or 2001:db8::10/64), nor dhcp, slaac or dhcp6'],
  ])('%s: one located line', (_n, body, line) => expect(problems(bridge(body))).toEqual([line]));

  it('keeps the NIC name when dom0 gets its own', () => {
    const t = parseTopology(bridge('    uplink: enp3s0\n    dom0: {ifname: xenbr0h}\n'));
    expect(t.bridges[0]?.uplinkPort).toBe('enp3s0');
  });
});
