/**
 * What the startup snapshot runs once before it is taken. V8 compiles a function when it is first
 * called, and a snapshot keeps what was compiled; a function first called by a command is parsed
 * and compiled in that command. A plan against an empty host stops at the lab's missing NIC, before
 * the planner's phases, so the phases and the parsers of the state read are run here against a
 * made-up host that has the NIC.
 */
import { parseTopology } from '../config/validate.js';
import { labTopology } from '../lab/example.js';
import { makePlan } from '../plan/diff.js';
import { parseBridgeVlans, parseLinks, parseRoutes, withAddrs } from '../state/parse.js';
import type { HostState } from '../state/types.js';

/** The lab's NIC and what an applied lab leaves, in the shape `ip -j -d link show` prints. */
const LINKS = [
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], mtu: 65536, operstate: 'UNKNOWN', link_type: 'loopback', address: '00:00:00:00:00:00' },
  { ifindex: 2, ifname: 'eth0', flags: ['BROADCAST', 'UP'], mtu: 1500, operstate: 'UP', link_type: 'ether', address: '52:54:00:00:00:01', parentbus: 'pci', parentdev: '0000:00:03.0', inet6_addr_gen_mode: 'eui64' },
  { ifindex: 3, ifname: 'xenbr0', flags: ['BROADCAST', 'NOARP', 'UP'], mtu: 1500, operstate: 'UP', link_type: 'ether', address: '02:54:00:00:00:01', linkinfo: { info_kind: 'bridge', info_data: { stp_state: 0, forward_delay: 0, vlan_filtering: 0 } } },
  { ifindex: 4, ifname: 'vif1.0', flags: ['BROADCAST', 'UP'], mtu: 1500, operstate: 'UP', link_type: 'ether', address: 'fe:ff:ff:ff:ff:ff', master: 'xenbr0', link_netnsid: 0, linkinfo: { info_kind: 'veth', info_slave_kind: 'bridge', info_slave_data: { state: 'forwarding', guard: true, root_block: true } }, inet6_addr_gen_mode: 'none' },
  { ifindex: 5, ifname: 'eth0.10', flags: ['BROADCAST', 'UP'], mtu: 1500, operstate: 'UP', link_type: 'ether', address: '52:54:00:00:00:01', link: 'eth0', linkinfo: { info_kind: 'vlan', info_data: { id: 10 } } },
  { ifindex: 6, ifname: 'bond0', flags: ['BROADCAST', 'MASTER'], mtu: 1500, operstate: 'DOWN', link_type: 'ether', address: '52:54:00:00:00:02', linkinfo: { info_kind: 'bond', info_data: { mode: '802.3ad', miimon: 100, ad_info: {} } } },
  { ifindex: 7, ifname: 'eth1', flags: ['BROADCAST', 'SLAVE'], mtu: 1500, operstate: 'DOWN', link_type: 'ether', address: '52:54:00:00:00:02', master: 'bond0', linkinfo: { info_slave_kind: 'bond', info_slave_data: { state: 'BACKUP', mii_status: 'DOWN', perm_hwaddr: '52:54:00:00:00:03' } } },
];
const ADDRS = [{ addr_info: [
  { index: 2, family: 'inet', local: '192.0.2.10', prefixlen: 24, broadcast: '192.0.2.255', scope: 'global', label: 'eth0', valid_life_time: 4294967295 },
  { index: 2, family: 'inet6', local: 'fe80::5054:ff:fe00:1', prefixlen: 64, scope: 'link', valid_life_time: 4294967295 },
] }];

const host = (): HostState => ({
  links: withAddrs(parseLinks(LINKS), ADDRS),
  routes: [...parseRoutes([{ dst: 'default', gateway: '192.0.2.1', dev: 'eth0', protocol: 'static', flags: [] }], 4), ...parseRoutes([{ dst: 'fe80::/64', dev: 'eth0', protocol: 'kernel', metric: 256 }], 6)],
  vlans: parseBridgeVlans([{ ifname: 'vif1.0', vlans: [{ vlan: 1, flags: ['PVID', 'Egress Untagged'] }, { vlan: 10, vlanEnd: 20 }] }]),
  kernel: '6.12.0',
});

export const warm = (): void => {
  for (const mode of ['classic', 'filtering'] as const) {
    const t = parseTopology(labTopology(mode), 'lab.yaml');
    for (const s of [{ links: [], routes: [], vlans: [], kernel: '6.12.0' }, host(), { ...host(), kernel: '6.1.0' }]) {
      try {
        makePlan(t, s);
      } catch {
        // A plan the made-up host refuses: the checks that refused it ran, which is what is wanted.
      }
    }
  }
};
