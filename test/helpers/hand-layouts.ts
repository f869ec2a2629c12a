/**
 * Bridge layouts built by hand, as users' hosts have them (network-bridge, ifupdown, Proxmox), in
 * the lab bed's dom0 (its NIC eth0 is cabled to the switch's sw0; see src/lab/sandbox.ts). No
 * xenbridge apply, no xenstore. Each is a list of `ip -batch` lines for dom0 (and the switch).
 */

/** network-bridge's layout: the NIC renamed peth0 in xenbr0, dom0's eth0 on a veth whose peer vif0.0 is a port. */
const networkBridge = [
  'addr flush dev eth0', 'link set dev eth0 down', 'link set dev eth0 name peth0',
  'link add name xenbr0 type bridge stp_state 0 forward_delay 0', 'link set dev peth0 master xenbr0',
  'link add name eth0 type veth peer name vif0.0', 'link set dev vif0.0 master xenbr0',
  'link set dev peth0 up', 'link set dev vif0.0 up', 'link set dev xenbr0 up', 'link set dev eth0 up',
  'addr add 192.0.2.10/24 dev eth0', 'route add default via 192.0.2.1 dev eth0',
];

export const LAYOUTS = {
  /** The seed's: dom0's VLAN device on the NIC, a port of the bridge; guests on the trunk tag VLAN 10 themselves. */
  naive: [...networkBridge, 'link add link peth0 name peth0.10 type vlan id 10', 'addr add 10.10.0.2/24 dev peth0.10', 'link set dev peth0.10 up'],
  /** The same, healthy: the VLAN device on dom0's side of the bridge. */
  naiveFixed: [...networkBridge, 'link add link eth0 name eth0.10 type vlan id 10', 'addr add 10.10.0.2/24 dev eth0.10', 'link set dev eth0.10 up'],
  /** The NIC in a bond, the bond in the bridge, dom0's VLAN device on the bond. */
  bond: [
    'addr flush dev eth0', 'link set dev eth0 down',
    'link add name bond0 type bond mode active-backup miimon 100', 'link set dev eth0 master bond0',
    'link add name xenbr0 type bridge stp_state 0 forward_delay 0', 'link set dev bond0 master xenbr0',
    'link set dev eth0 up', 'link set dev bond0 up', 'link set dev xenbr0 up',
    'addr add 192.0.2.10/24 dev xenbr0', 'route add default via 192.0.2.1 dev xenbr0',
    'link add link bond0 name bond0.10 type vlan id 10', 'addr add 10.10.0.2/24 dev bond0.10', 'link set dev bond0.10 up',
  ],
  /** A healthy xenbr0 on eth0, and a second NIC eth1 in xenbr1 with dom0's VLAN device on it. */
  secondNic: [
    ...networkBridge,
    'link set dev eth1 down', 'link set dev eth1 name peth1', 'link add name xenbr1 type bridge stp_state 0 forward_delay 0',
    'link set dev peth1 master xenbr1', 'link set dev peth1 up', 'link set dev xenbr1 up',
    'link add link peth1 name peth1.10 type vlan id 10', 'addr add 10.11.0.2/24 dev peth1.10', 'link set dev peth1.10 up',
  ],
  /** Proxmox: a VLAN-aware vmbr0 whose NIC port carries 2-4094 but VLAN 20, dom0 on VLAN 10 through vmbr0.10, a guest on VLAN 20. */
  proxmox: (guest: string): string[] => [
    'addr flush dev eth0',
    'link add name vmbr0 type bridge stp_state 0 forward_delay 0 vlan_filtering 1', 'link set dev eth0 master vmbr0',
    `link set dev ${guest} master vmbr0`, 'link set dev vmbr0 up', `link set dev ${guest} up`,
    'addr add 192.0.2.10/24 dev vmbr0', 'route add default via 192.0.2.1 dev vmbr0',
    'link add link vmbr0 name vmbr0.10 type vlan id 10', 'addr add 10.10.0.2/24 dev vmbr0.10', 'link set dev vmbr0.10 up',
  ],
  /** Its VLAN entries (bridge -batch): the uplink without VLAN 20 unless told otherwise. */
  proxmoxVlans: (guest: string, missing = true): string[] => [
    ...(missing ? ['vlan add dev eth0 vid 2-19', 'vlan add dev eth0 vid 21-4094'] : ['vlan add dev eth0 vid 2-4094']),
    'vlan add dev vmbr0 vid 10 self', `vlan del dev ${guest} vid 1`, `vlan add dev ${guest} vid 20 pvid untagged`,
  ],
  networkBridge,
};

/** A second cable: the switch's sw1 to dom0's eth1, trunking untagged 198.51.100.0/24 and VLAN 10 as 10.11.0.0/24. */
export const SECOND_CABLE = (dom0: string): string[] => [
  `link add name sw1 type veth peer name eth1 netns ${dom0}`, 'addr add 198.51.100.1/24 dev sw1', 'link set dev sw1 up',
  'link add link sw1 name sw1.10 type vlan id 10', 'addr add 10.11.0.1/24 dev sw1.10', 'link set dev sw1.10 up',
];

/** A topology file for the network-bridge layout as it stands (VLAN 20 declared, dom0 without an address there). */
export const NETWORK_BRIDGE_FILE = `version: 1
bridges:
  - name: xenbr0
    uplink: eth0
    uplink-port: peth0
    dom0: { ifname: eth0, peer: vif0.0, addresses: [192.0.2.10/24], gateway: 192.0.2.1 }
    vlans:
      - { id: 20, device: eth0.20, probe: 10.20.0.1 }
`;
