/** The host's live network state, as read from `ip -j -d` and `bridge -j`. */
import type { Ipv6Conf } from './ipv6-conf.js';

export interface Addr {
  family: 4 | 6;
  local: string;
  prefixlen: number;
  broadcast?: string;
  scope: string;
  label?: string;
  /** Address flags `ip addr add` can set again: noprefixroute, nodad, home, mngtmpaddr, ... */
  flags: string[];
  /** Kernel-managed (link-local, dynamic/SLAAC): never moved or removed by xenbridge. */
  managed: boolean;
  /** Seconds left, for an address with a lifetime (a DHCP lease, SLAAC). */
  validLft?: number;
  preferredLft?: number;
}

export interface Route {
  family: 4 | 6;
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
  prefsrc?: string;
  onlink: boolean;
}

export interface BridgeInfo {
  stp: boolean;
  /** Centiseconds, as the kernel reports it. */
  forwardDelay: number;
  vlanFiltering: boolean;
}

export type LinkKind = 'bridge' | 'veth' | 'vlan' | 'bond' | 'device' | 'loopback' | 'other';

export interface BondInfo {
  mode: string;
  miimon: number;
  lacpRate?: string;
  xmitHashPolicy?: string;
  /** 802.3ad: the partner's system MAC (00:00:00:00:00:00 while no partner answers). */
  partnerMac?: string;
}

/** A bond member's view of itself (`info_slave_data`). */
export interface BondSlaveInfo {
  /** ACTIVE or BACKUP. */
  state: string;
  miiStatus: string;
  /** 802.3ad: the partner's port state bits (IEEE 802.1AX: 0x08 in sync, 0x10 collecting, 0x20 distributing). */
  partnerState?: number;
}

export interface Link {
  ifindex: number;
  name: string;
  kind: LinkKind;
  /** info_kind as the kernel names it (tun, macvlan, ...), for messages. */
  kindName: string;
  up: boolean;
  /** IFF_NOARP: the device neither answers nor sends ARP. */
  noarp: boolean;
  operstate: string;
  carrier: boolean;
  mtu: number;
  mac: string;
  permaddr?: string;
  master?: string;
  /** veth: the peer's name when it is in the same namespace; vlan: the lower device. */
  link?: string;
  /** veth: the peer lives in another namespace (so from here this veth behaves like a NIC). */
  peerElsewhere: boolean;
  vlanId?: number;
  bridge?: BridgeInfo;
  bond?: BondInfo;
  bondSlave?: BondSlaveInfo;
  /** Bridge port state (forwarding, blocking, disabled, ...) when the link is a bridge port. */
  portState?: string;
  /** A bridge port's BPDU guard and root block both on (a guest's port must have them). */
  portGuarded?: boolean;
  /** A bridge port's group_fwd_mask (which bridge-local groups it forwards rather than takes itself). */
  portFwdMask?: number;
  parentbus?: string;
  parentdev?: string;
  /** NICs: the kernel driver and the PCI address (of the device or its nearest PCI ancestor), from sysfs. */
  driver?: string;
  pci?: string;
  /** IPv6 link-local address generation (eui64, none, stable_secret, random); undefined without IPv6. */
  addrGenMode?: string;
  addrs: Addr[];
}

export interface VlanEntry {
  dev: string;
  vid: number;
  vidEnd?: number;
  pvid: boolean;
  untagged: boolean;
}

export interface HostState {
  links: Link[];
  routes: Route[];
  vlans: VlanEntry[];
  /** Kernel release, for capabilities such as renaming a link that is up. */
  kernel: string;
  /** This scope's DHCP clients: where their files live, and the interfaces one runs on. */
  dhcp?: { dir: string; running: string[]; running6?: string[] };
  /** IPv6 settings of dom0's interfaces and `default` (read only when a dom0 asks for slaac or dhcp6). */
  ipv6Conf?: Record<string, Ipv6Conf>;
}

/** Index per links array: plans look links up thousands of times on a host with thousands of links. */
const byName = new WeakMap<Link[], Map<string, Link>>();

export const linkByName = (s: HostState, name: string): Link | undefined => {
  let index = byName.get(s.links);
  if (!index || index.size !== s.links.length) {
    index = new Map(s.links.map((l) => [l.name, l]));
    byName.set(s.links, index);
  }
  return index.get(name);
};

export const portsOf = (s: HostState, bridge: string): Link[] => s.links.filter((l) => l.master === bridge);

/** A NIC from this namespace's point of view: a device, or a veth whose peer is elsewhere. */
export const isNicLike = (l: Link): boolean => l.kind === 'device' || (l.kind === 'veth' && l.peerElsewhere);

/** Linux allows renaming a link that is up since 6.3 (commit bd039b5ea2a9); before that it returns EBUSY. */
export const canRenameLive = (kernel: string): boolean => {
  const [maj = 0, min = 0] = kernel.split(/[.-]/).map(Number);
  return maj > 6 || (maj === 6 && min >= 3);
};

/** A dom0 veth end: a veth whose peer is a port of `bridge` and which is itself no port. */
export const dom0Of = (s: HostState, bridge: string): { dom0: Link; peer: Link } | undefined => {
  for (const peer of portsOf(s, bridge).filter((p) => p.kind === 'veth' && p.link)) {
    const dom0 = linkByName(s, peer.link ?? '');
    if (dom0 && !dom0.master) return { dom0, peer };
  }
  return undefined;
};
