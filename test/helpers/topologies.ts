/** Topologies more than one suite needs. */

/** Takeover plus a second, address-carrying bridge over an internal veth: every kind of step. */
export const EVERY_KIND_OF_STEP = `version: 1
bridges:
  - name: xenbr0
    uplink: eth0
    mtu: 1400
    stp: true
    forward-delay: 4
    dom0:
      addresses: [198.51.100.10/24]
  - name: xenbr1
    dom0:
      ifname: int0
      addresses: [203.0.113.1/24]
`;

/** The NIC taken over into one classic bridge, nothing else. */
/** The NIC taken over into xenbr0, nothing else: 17 steps, whose undo renames links back (the NIC's name). */
export const TAKEOVER = `version: 1
bridges:
  - name: xenbr0
    uplink: eth0
`;

export const TAKEOVER_ONLY = `version: 1
bridges:
  - name: xenbr0
    uplink: eth0
    mtu: 1500
`;

/** The NIC taken over by xenbr0, whose vifs may carry VLAN 10 and 20 (bridge=xenbr0:10:20). */
export const TRUNK_VIFS = `version: 1
bridges:
  - name: xenbr0
    uplink: eth0
    vif-vlans: [10, 20]
`;

