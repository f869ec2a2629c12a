/**
 * Kernel operations as typed values: what plan produces, what the journal and the history store and
 * what recovery reads. Each op carries the part of the state it changes that its inverse needs
 * (setMtu the old MTU, a deleted VLAN device how to create it again), so the inverse is a function
 * of the op alone. Batch lines are rendered from ops (render.ts), never read back.
 */
import type { Tool } from '../exec/runner.js';
import type { BondSpec } from '../model/bond.js';
import type { Addr, Route, VlanEntry } from '../state/types.js';
import type { VifGuard } from './guard.js';

/** How the kernel makes a link's IPv6 link-local address (`ip link set … addrgenmode`): eui64, none, stable_secret, random. */
export type AddrGenMode = string;

/** A bond's options; each undefined one is left as the kernel has it. */
export type BondOptions = Partial<Pick<BondSpec, 'mode' | 'miimon' | 'lacpRate' | 'xmitHashPolicy'>>;

export interface BridgeOpts {
  stp: boolean;
  /** Centiseconds. */
  forwardDelay: number;
  vlanFiltering: boolean;
}

/** A VLAN device as it was before it was deleted: enough to create it again. */
export interface VlanWas {
  parent: string;
  id: number;
  mac: string;
  mtu: number;
  master?: string;
  up: boolean;
}

export type AddLinkOp =
  | { kind: 'addBridge'; dev: string; mac?: string; mtu?: number; opts: BridgeOpts }
  | { kind: 'addVeth'; dev: string; mac?: string; mtu?: number; peer: string; peerMac?: string; peerNetns?: string }
  | { kind: 'addVlan'; dev: string; parent: string; id: number; mac?: string; mtu?: number }
  | { kind: 'addBond'; dev: string; mac?: string; mtu?: number; bond: BondOptions };

export type LinkOp =
  | AddLinkOp
  /** `vlan`: the VLAN device being deleted, when the delete is to be undone by creating it again. */
  | { kind: 'delLink'; dev: string; vlan?: VlanWas }
  | { kind: 'rename'; from: string; to: string }
  | { kind: 'setUp'; dev: string; up: boolean }
  | { kind: 'setArp'; dev: string; on: boolean }
  /** master undefined: nomaster. */
  | { kind: 'setMaster'; dev: string; master?: string; was?: string }
  | { kind: 'setMtu'; dev: string; mtu: number; was: number }
  | { kind: 'setMac'; dev: string; mac: string; was: string }
  | { kind: 'setAddrGenMode'; dev: string; mode: AddrGenMode; was: AddrGenMode }
  | { kind: 'setBridgeOpts'; dev: string; opts: BridgeOpts; was: BridgeOpts }
  /** Never the mode: the kernel changes a bond's mode only while it has no members. */
  | { kind: 'setBond'; dev: string; opts: BondOptions; was: BondOptions };

export type AddrOp = { kind: 'addAddr'; dev: string; addr: Addr } | { kind: 'delAddr'; dev: string; addr: Addr };
export type RouteOp = { kind: 'addRoute'; route: Route } | { kind: 'delRoute'; route: Route };
export type VlanEntryOp = { kind: 'addVlanEntry'; entry: VlanEntry } | { kind: 'delVlanEntry'; entry: VlanEntry };

/** A port's nft guard put in place (replacing `was`), or taken away (`was`: the guard it had). */
export type GuardOp = { kind: 'guard'; guard: VifGuard; was?: VifGuard; shared?: true } | { kind: 'unguard'; dev: string; was?: VifGuard };

export type NetnsOp = { kind: 'addNetns'; name: string } | { kind: 'delNetns'; name: string };

/** dom0's DHCP client on dev, its files under dir (metric: of the lease's default route, so renewals replace it); v6: the DHCPv6 client. */
export type DhcpOp = { kind: 'dhcpStart'; dev: string; dir: string; metric?: number; v6?: true } | { kind: 'dhcpStop'; dev: string; dir: string; v6?: true };

/** The per-interface IPv6 settings xenbridge changes: routers' advertisements, SLAAC. */
export const IPV6_CONF_KEYS = ['accept_ra', 'autoconf'] as const;
export type Ipv6ConfKey = (typeof IPV6_CONF_KEYS)[number];

/** /proc/sys/net/ipv6/conf/DEV/KEY set to value; was: what it held (ip cannot set these). */
export type SysctlOp = { kind: 'setSysctl'; dev: string; key: Ipv6ConfKey; value: number; was: number };

/** A leased address, moved with its remaining lifetime (Addr.validLft/preferredLft). */
export type LeaseOp = { kind: 'addLease'; dev: string; addr: Addr } | { kind: 'delLease'; dev: string; addr: Addr };

/** A batch line kept from a record of version 1 (before ops): run as written, its undo stored beside it. */
export type LineOp = { kind: 'line'; tool: Tool; line: string };

export type Op = LinkOp | AddrOp | RouteOp | VlanEntryOp | GuardOp | NetnsOp | DhcpOp | LeaseOp | SysctlOp | LineOp;
export type OpKind = Op['kind'];

/** While STP is on the kernel accepts forward delays of 200..3000 cs only (BR_MIN/MAX_FORWARD_DELAY). */
export const stpDelayOk = (cs: number): boolean => cs >= 200 && cs <= 3000;

/**
 * The kernel applies forward_delay before stp_state within one message, so a change that turns STP
 * on is valid with any delay; one that turns it off while setting a delay STP forbids is not, and is
 * made as two ops: STP off, then the delay.
 */
export const bridgeOptOps = (dev: string, opts: BridgeOpts, was: BridgeOpts): Op[] => {
  if (!(was.stp && !opts.stp && was.forwardDelay !== opts.forwardDelay && !stpDelayOk(opts.forwardDelay))) return [{ kind: 'setBridgeOpts', dev, opts, was }];
  const off = { ...was, stp: false };
  return [{ kind: 'setBridgeOpts', dev, opts: off, was }, { kind: 'setBridgeOpts', dev, opts, was: off }];
};

const recreateVlan = (dev: string, v: VlanWas): Op[] => [
  { kind: 'addVlan', dev, parent: v.parent, id: v.id, mac: v.mac, mtu: v.mtu },
  ...(v.master ? [{ kind: 'setMaster', dev, master: v.master } as const] : []),
  ...(v.up ? [{ kind: 'setUp', dev, up: true } as const] : []),
];

/** The ops that undo op, last to run last. Deleting a link whose state the op does not carry has none. */
export const inverse = (op: Op): Op[] => {
  switch (op.kind) {
    case 'addBridge':
    case 'addVeth':
    case 'addVlan':
    case 'addBond':
      return [{ kind: 'delLink', dev: op.dev }];
    case 'delLink':
      return op.vlan ? recreateVlan(op.dev, op.vlan) : [];
    case 'rename':
      return [{ kind: 'rename', from: op.to, to: op.from }];
    case 'setUp':
      return [{ ...op, up: !op.up }];
    case 'setArp':
      return [{ ...op, on: !op.on }];
    case 'setMaster':
      return [{ kind: 'setMaster', dev: op.dev, master: op.was, was: op.master }];
    case 'setMtu':
      return [{ ...op, mtu: op.was, was: op.mtu }];
    case 'setMac':
      return [{ ...op, mac: op.was, was: op.mac }];
    case 'setAddrGenMode':
      return [{ ...op, mode: op.was, was: op.mode }];
    case 'setBridgeOpts':
      return bridgeOptOps(op.dev, op.was, op.opts);
    case 'setBond':
      return [{ ...op, opts: op.was, was: op.opts }];
    case 'addAddr':
      return [{ ...op, kind: 'delAddr' }];
    case 'delAddr':
      return [{ ...op, kind: 'addAddr' }];
    case 'addRoute':
      return [{ ...op, kind: 'delRoute' }];
    case 'delRoute':
      return [{ ...op, kind: 'addRoute' }];
    case 'addVlanEntry':
      return [{ ...op, kind: 'delVlanEntry' }];
    case 'delVlanEntry':
      return [{ ...op, kind: 'addVlanEntry' }];
    case 'guard':
      return [op.was ? { kind: 'guard', guard: op.was, was: op.guard } : { kind: 'unguard', dev: op.guard.dev, was: op.guard }];
    case 'unguard':
      return op.was ? [{ kind: 'guard', guard: op.was }] : [];
    case 'addNetns':
      return [{ kind: 'delNetns', name: op.name }];
    case 'dhcpStart':
      return [{ kind: 'dhcpStop', dev: op.dev, dir: op.dir, ...(op.v6 ? { v6: true } : {}) }];
    case 'dhcpStop':
      return [{ kind: 'dhcpStart', dev: op.dev, dir: op.dir, ...(op.v6 ? { v6: true } : {}) }];
    case 'setSysctl':
      return [{ ...op, value: op.was, was: op.value }];
    case 'addLease':
      return [{ ...op, kind: 'delLease' }];
    case 'delLease':
      return [{ ...op, kind: 'addLease' }];
    case 'delNetns':
    case 'line':
      return [];
  }
};
