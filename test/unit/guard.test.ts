import { describe, expect, it } from 'vitest';
import { eui64LinkLocal, guardCommands, guardDigest, inRules, outRules, unguardCommands, v6Raw } from '../../src/plan/guard.js';
import { addGuard, delGuard } from '../../src/plan/steps-guard.js';
import { inverse as inverseOf, type Op } from '../../src/plan/ops.js';
import { render, type Line } from '../../src/plan/render.js';

const access = { dev: 'vif1.0', vlans: { untagged: true, tagged: [] }, mac: '00:16:3e:00:01:00' };

describe('vif guard rules (bridge-family nftables)', () => {
  it('an untagged port with antispoofing by MAC: tagged and stacked frames and other MACs die, both ways for tags', () => {
    expect(inRules(access).slice(0, -1)).toEqual([
      'ether daddr & ff:ff:ff:ff:ff:c0 == 01:80:c2:00:00:00 counter drop comment "to an IEEE switch-control group (STP, LACP, LLDP, MRP, CFM)"',
      'ether daddr & ff:ff:ff:ff:ff:fe == 01:00:0c:cc:cc:cc counter drop comment "to a Cisco switch-control group (CDP, DTP, VTP, PVST+)"',
      'ether saddr 00:16:3e:00:01:00 ether type ip accept',
      'ether saddr 00:16:3e:00:01:00 ether type ip6 accept',
      'ether saddr != 00:16:3e:00:01:00 counter drop comment "spoofed source MAC"',
      'ether type 8021ad counter drop comment "S-tagged (802.1ad) frame"',
      'ether type 0x9100 counter drop comment "S-tagged (802.1ad) frame"',
      'vlan type 8021q counter drop comment "stacked VLAN tags (QinQ)"',
      'vlan type 8021ad counter drop comment "stacked VLAN tags (QinQ)"',
      'vlan type 0x9100 counter drop comment "stacked VLAN tags (QinQ)"',
      'ether type 8021q counter drop comment "tagged frame on an untagged port"',
    ]);
    expect(outRules(access).slice(0, -1)).toEqual(inRules({ ...access, mac: undefined }).slice(0, -1).filter((r) => !r.includes('01:80:c2') && !r.includes('01:00:0c')));
    expect(inRules(access).at(-1)).toBe(`counter comment "xenbridge ${guardDigest(access)}"`);
  });
  it('a trunk-only port carries only its VIDs, tagged once', () => {
    expect(inRules({ dev: 'web0', vlans: { untagged: false, tagged: [{ start: 10, end: 10 }, { start: 100, end: 110 }] } }).slice(7, -1)).toEqual([
      'vlan id 10 accept',
      'vlan id 100-110 accept',
      'ether type 8021q counter drop comment "VLAN not carried by this vif"',
      'counter drop comment "untagged frame on a trunk-only port"',
    ]);
  });
  it('with xenstore ip: only those addresses, ARP from its MAC, its own DHCP client requests, NDP for its own addresses; no RA, DHCP server or querier', () => {
    const rules = inRules({ ...access, ips: ['192.0.2.51', '2001:db8::51'] });
    const server = 'counter drop comment "DHCP server or multicast querier"';
    expect(rules.slice(0, 13)).toEqual([
      'ether daddr & ff:ff:ff:ff:ff:c0 == 01:80:c2:00:00:00 counter drop comment "to an IEEE switch-control group (STP, LACP, LLDP, MRP, CFM)"',
      'ether daddr & ff:ff:ff:ff:ff:fe == 01:00:0c:cc:cc:cc counter drop comment "to a Cisco switch-control group (CDP, DTP, VTP, PVST+)"',
      `meta protocol ip udp sport 67 ${server}`,
      `meta protocol ip udp dport 68 ${server}`,
      `meta protocol ip6 udp sport 547 ${server}`,
      `meta protocol ip6 udp dport 546 ${server}`,
      `meta protocol ip igmp type membership-query ${server}`,
      `meta protocol ip6 icmpv6 type mld-listener-query ${server}`,
      'meta protocol ip udp dport 67 ip frag-off & 0x2000 != 0 counter drop comment "DHCP request in fragments"',
      'meta protocol ip udp dport 67 @th,288,48 != 0x00163e000100 counter drop comment "DHCP request for another MAC"',
      'ether saddr 00:16:3e:00:01:00 ether type ip ip saddr 192.0.2.51 accept',
      'ether saddr 00:16:3e:00:01:00 ether type ip6 ip6 saddr 2001:db8::51 ip6 nexthdr tcp accept',
      'ether saddr 00:16:3e:00:01:00 ether type ip6 ip6 saddr 2001:db8::51 ip6 nexthdr udp accept',
    ]);
    const hidden = 'counter drop comment "link-local IPv6 behind a fragment or IPsec header"';
    const na = 'counter drop comment "neighbor advertisement for an address not in xenstore ip"';
    const probe = 'counter drop comment "address probe (ARP or DAD) for an address not in xenstore ip"';
    expect(rules.slice(20, -1)).toEqual([
      'meta protocol arp arp saddr ether != 00:16:3e:00:01:00 counter drop comment "ARP from another MAC"',
      'meta protocol arp arp saddr ip 0.0.0.0 arp daddr ip 192.0.2.51 accept',
      `meta protocol arp arp saddr ip 0.0.0.0 ${probe}`,
      'meta protocol arp arp saddr ip 192.0.2.51 accept',
      'meta protocol arp counter drop comment "ARP for an address not in xenstore ip"',
      'ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept',
      'ip saddr 192.0.2.51 accept',
      'meta protocol ip counter drop comment "IPv4 from an address not in xenstore ip"',
      'meta protocol ip6 icmpv6 type nd-router-advert counter drop comment "IPv6 router advertisement or redirect"',
      'meta protocol ip6 icmpv6 type nd-redirect counter drop comment "IPv6 router advertisement or redirect"',
      `meta protocol ip6 icmpv6 type nd-neighbor-advert exthdr frag exists ${na}`,
      'meta protocol ip6 frag frag-off 0 frag nexthdr != 6 frag nexthdr != 17 frag nexthdr != 58 frag nexthdr != 50 counter drop comment "IPv6 headers split across fragments (RFC 7112)"',
      `meta protocol ip6 icmpv6 type nd-neighbor-advert @th,64,128 != 0x20010db8000000000000000000000051 @th,64,128 != 0xfe8000000000000002163efffe000100 ${na}`,
      `meta protocol ip6 ip6 saddr :: icmpv6 type nd-neighbor-solicit @th,64,128 != 0x20010db8000000000000000000000051 @th,64,128 != 0xfe8000000000000002163efffe000100 ${probe}`,
      ...['::', 'fe80::216:3eff:fe00:100'].flatMap((a) => [
        `ip6 saddr ${a} exthdr frag exists meta l4proto udp accept`,
        `ip6 saddr ${a} exthdr frag exists meta l4proto tcp accept`,
        ...['exthdr frag exists', 'meta l4proto ah', 'meta l4proto esp'].map((m) => `ip6 saddr ${a} ${m} ${hidden}`),
      ]),
      'ip6 saddr :: accept',
      'ip6 saddr 2001:db8::51 accept',
      'ip6 saddr fe80::216:3eff:fe00:100 accept',
      'ip6 saddr fe80::/10 counter drop comment "link-local IPv6 from an address other than its own (list it in xenstore ip)"',
      'meta protocol ip6 counter drop comment "IPv6 from an address not in xenstore ip"',
      'counter drop comment "protocol other than IPv4, ARP, IPv6"',
    ]);
    expect(inRules({ ...access, ips: ['2001:db8::51'] })).toContain('meta protocol ip counter drop comment "IPv4 from an address not in xenstore ip"');
  });
  it('link-local: the MAC\'s EUI-64 address, or the fe80::/10 entries of xenstore ip, or any without a MAC', () => {
    const ll = (g: Parameters<typeof inRules>[0]): string[] => inRules(g).filter((r) => /^ip6 saddr \S+ accept$/.test(r) || r.includes('nd-neighbor-advert @th'));
    const na = 'counter drop comment "neighbor advertisement for an address not in xenstore ip"';
    expect(ll({ ...access, ips: ['192.0.2.51'] })).toEqual([
      `meta protocol ip6 icmpv6 type nd-neighbor-advert @th,64,128 != 0xfe8000000000000002163efffe000100 ${na}`,
      'ip6 saddr :: accept',
      'ip6 saddr fe80::216:3eff:fe00:100 accept',
    ]);
    // A stable-privacy guest's own address, or a whole prefix: then not the EUI-64 one.
    expect(ll({ ...access, ips: ['192.0.2.51', 'fe80::a1b2:c3d4:e5f6:1'] })).toEqual([
      `meta protocol ip6 icmpv6 type nd-neighbor-advert @th,64,128 != 0xfe80000000000000a1b2c3d4e5f60001 ${na}`,
      'ip6 saddr :: accept',
      'ip6 saddr fe80::a1b2:c3d4:e5f6:1 accept',
    ]);
    expect(ll({ ...access, ips: ['fe80::/64'] })).toEqual([`meta protocol ip6 icmpv6 type nd-neighbor-advert @th,64,64 != 0xfe80000000000000 ${na}`, 'ip6 saddr :: accept', 'ip6 saddr fe80::/64 accept']);
    expect(ll({ dev: 'vif1.0', ips: ['2001:db8::51'] })).toEqual([
      `meta protocol ip6 icmpv6 type nd-neighbor-advert @th,64,128 != 0x20010db8000000000000000000000051 @th,64,10 != 0x3fa ${na}`,
      'ip6 saddr :: accept',
      'ip6 saddr 2001:db8::51 accept',
      'ip6 saddr fe80::/10 accept',
    ]);
    // ::/0 holds no IPv6 source nor target (and a 0-bit match is no nft syntax).
    expect(ll({ ...access, ips: ['::/0'] })).toEqual(['ip6 saddr :: accept', 'ip6 saddr ::/0 accept', 'ip6 saddr fe80::216:3eff:fe00:100 accept']);
  });
  it.each([
    ['00:16:3e:00:01:00', 'fe80::216:3eff:fe00:100'],
    ['02:00:00:00:00:01', 'fe80::ff:fe00:1'],
    ['fe:ff:ff:ff:ff:ff', 'fe80::fcff:ffff:feff:ffff'],
    ['52:54:00:12:34:56', 'fe80::5054:ff:fe12:3456'],
  ])('the EUI-64 link-local address of %s', (mac, want) => {
    expect(eui64LinkLocal(mac)).toBe(want);
  });
  it('a trunk held to xenstore ip: tagged frames of its VIDs go on to the address rules, not straight through', () => {
    const trunk = { dev: 'web0', mac: '00:16:3e:00:01:00', vlans: { untagged: false, tagged: [{ start: 10, end: 10 }, { start: 100, end: 110 }] }, ips: ['192.0.2.51'] };
    const rules = inRules(trunk);
    expect(rules.filter((r) => r.includes('vlan id'))).toEqual(['ether type 8021q vlan id != 10 vlan id != 100-110 counter drop comment "VLAN not carried by this vif"']);
    expect(rules).toContain('ether type != 8021q counter drop comment "untagged frame on a trunk-only port"');
    expect(rules.indexOf('ip saddr 192.0.2.51 accept')).toBeGreaterThan(rules.findIndex((r) => r.includes('vlan id != 10')));
    // Every accept names one of its addresses (or a client's first request, or NDP's sources).
    expect(rules.filter((r) => r.endsWith(' accept') && !/192\.0\.2\.51|0\.0\.0\.0|ip6 saddr (::|fe80::216:3eff:fe00:100) /.test(r))).toEqual([]);
    // Without addresses, a VID of its own is all a tagged frame needs.
    expect(inRules({ ...trunk, ips: undefined }).filter((r) => r.includes('vlan id'))).toEqual(['vlan id 10 accept', 'vlan id 100-110 accept']);
  });
  it.each([
    ['2001:db8::51', '@th,64,128 0x20010db8000000000000000000000051'],
    ['::', '@th,64,128 0x00000000000000000000000000000000'],
    ['fe80::1:2', '@th,64,128 0xfe800000000000000000000000010002'],
    ['2001:db8:1:2:3:4:5:6', '@th,64,128 0x20010db8000100020003000400050006'],
    ['::ffff:192.0.2.1', '@th,64,128 0x00000000000000000000ffffc0000201'],
    ['2001:db8:5::/64', '@th,64,64 0x20010db800050000'],
    ['2001:db8::/33', '@th,64,33 0x040021b70'],
    ['fe80::/10', '@th,64,10 0x3fa'],
  ])('an IPv6 address or prefix of xenstore ip as a raw payload match: %s', (a, want) => {
    expect(v6Raw(a, 64)).toBe(want);
  });
  it('no rule holds an anonymous set: nft 1.0.6 reads them all before every transaction', () => {
    const g = { ...access, vlans: { untagged: true, tagged: [{ start: 10, end: 20 }] }, ips: ['192.0.2.51', '2001:db8::51'] };
    expect([...inRules(g), ...outRules(g)].filter((r) => r.includes('{'))).toEqual([]);
  });
  it('steps: one atomic nft transaction each way, undone exactly', () => {
    const step = addGuard(access);
    const lines = (ops: Op[]): Line[] => ops.map(render);
    expect(render(step.op)).toEqual({ tool: 'nft', line: guardCommands(access).join('; ') });
    expect(lines(step.undo)).toEqual([{ tool: 'nft', line: unguardCommands('vif1.0').join('; ') }]);
    const changed = addGuard({ ...access, mac: '00:16:3e:00:01:01' }, access);
    expect(lines(changed.undo)).toEqual([render(step.op)]);
    const del = delGuard(access);
    expect([render(del.op), ...lines(del.undo)]).toEqual([...lines(step.undo), render(step.op)]);
  });
  it('only the first guard since boot makes the hook chains: a flush waits for an RCU grace period, adds do not', () => {
    const hooks = (cmds: string[]): string[] => cmds.filter((c) => / (pre|post)\b/.test(c));
    expect(hooks(guardCommands(access))).toEqual([
      'add chain bridge xenbridge pre { type filter hook prerouting priority -200; policy accept; }', 'flush chain bridge xenbridge pre', 'add rule bridge xenbridge pre iifname vmap @vifs-in',
      'add chain bridge xenbridge post { type filter hook postrouting priority -200; policy accept; }', 'flush chain bridge xenbridge post', 'add rule bridge xenbridge post oifname vmap @vifs-out',
    ]);
    expect(hooks(guardCommands(access, true))).toEqual([]);
    expect(hooks(unguardCommands('vif1.0'))).toEqual([]);
    expect([...guardCommands(access, true), ...unguardCommands('vif1.0')].filter((c) => c.startsWith('flush'))).toEqual(['flush chain bridge xenbridge in-vif1.0', 'flush chain bridge xenbridge out-vif1.0']);
    const shared = addGuard(access, undefined, true);
    expect(render(shared.op)).toEqual({ tool: 'nft', line: guardCommands(access, true).join('; ') });
    // Put back by a rollback or by apply, a guard is whole again: hook chains included.
    expect(inverseOf(delGuard(access).op).map(render)).toEqual([render(addGuard(access).op)]);
  });
  it('refuses a port name nft could misread', () => {
    expect(() => guardCommands({ ...access, dev: 'a"b' })).toThrow('cannot guard port "a"b": its name has characters other than');
  });
});
