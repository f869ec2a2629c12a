/** The validated topology: what the file means, with every default filled in. */
import type { BondSpec } from './bond.js';

export type BridgeMode = 'classic' | 'filtering';

export interface VidRange {
  start: number;
  end: number;
}

export interface VlanSpec {
  id: number;
  /** Classic mode: the per-VLAN bridge. Filtering mode: undefined (VIDs live on the trunk bridge). */
  bridge?: string;
  /** dom0's VLAN device, on dom0's veth end. */
  device: string;
  addresses: string[];
  gateway?: string;
  probe?: string;
  mtu?: number;
}

export interface Dom0Spec {
  /** dom0's end of the veth pair: where dom0's addresses and VLAN devices live. */
  ifname: string;
  /** The bridge-side end of the veth pair, a port of the trunk bridge. */
  peer: string;
  addresses: string[];
  gateway?: string;
  /** IPv4 from the network: a DHCP client runs on ifname. */
  dhcp: boolean;
  /** IPv6 addresses from routers' advertisements (the kernel's SLAAC); their default route too. */
  slaac?: boolean;
  /** IPv6 addresses from a DHCPv6 server (a DHCPv6 client on ifname); routers' advertisements give the default route. */
  dhcp6?: boolean;
}

export interface BridgeSpec {
  name: string;
  /** The NIC that becomes a port, as named in the file (before any rename). */
  uplink?: string;
  /** The NIC's name once it is a port: the uplink's own name, or p<uplink> when dom0 takes that name. */
  uplinkPort?: string;
  mode: BridgeMode;
  mtu?: number;
  stp: boolean;
  /** Seconds. */
  forwardDelay: number;
  mac?: string;
  dom0: Dom0Spec;
  vlans: VlanSpec[];
  vifVlans: VidRange[];
  /** Guests on this bridge send only from their xenstore mac (and ip, when set). Off only for labs. */
  vifAntispoof: boolean;
  /** `bridge=BR` alone carries every tag (classic) / every declared VLAN (filtering), unfiltered. */
  insecureVifAllTags: boolean;
  /** Where each part was written, for errors found after validation ("file:line:col"). */
  where: Record<string, string>;
}

export type NameMatch =
  | { by: 'mac'; mac: string }
  | { by: 'pci'; pci: string }
  | { by: 'driver'; driver: string; index: number }
  | { by: 'ifname'; ifname: string };

export interface NameRule {
  name: string;
  match: NameMatch;
  where: string;
}

export interface Topology {
  version: 1;
  source: string;
  bridges: BridgeSpec[];
  /** Bonds used as bridge uplinks. */
  bonds: BondSpec[];
  names: NameRule[];
}

export const vidAllowed = (bridge: BridgeSpec, vid: number): boolean =>
  bridge.vlans.some((v) => v.id === vid) || bridge.vifVlans.some((r) => vid >= r.start && vid <= r.end);
