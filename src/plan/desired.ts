/**
 * Topology + live state -> the links, addresses, routes and VLAN entries that should exist.
 * Live state is needed here only to find the NIC (before or after an earlier takeover) and its MAC.
 */
import { XbError } from '../errors.js';
import { deriveBridgeMac, XEN_PORT_MAC } from '../model/net.js';
import type { BridgeSpec, Topology } from '../model/topology.js';
import { isNicLike, linkByName, type Addr, type HostState, type Link, type LinkKind, type Route, type VlanEntry } from '../state/types.js';
import { findBond } from './desired-bond.js';
import type { WantRa } from './diff-ra.js';
import type { BondOpts, BridgeOpts } from './steps.js';

interface WantCommon {
  name: string;
  owner: string;
  mtu?: number;
  /** Managed MAC (undefined: whatever the kernel gave it). */
  mac?: string;
  /** MAC to give the link when it is created. */
  createMac?: string;
  /** null: must not be enslaved; undefined: not managed. */
  master?: string | null;
  /**
   * false for the trunk bridge: it carries no address, but Linux answers ARP for any local address on
   * any interface (arp_ignore=0), so on dom0's own segment it would answer for dom0's addresses with
   * its own MAC and pull dom0's traffic off dom0's interface.
   */
  arp?: boolean;
}

/**
 * macSeed: a bridge created without a MAC of its own gets deriveBridgeMac(macSeed, name), derived
 * only when it is created: on a host of a thousand bridges deriving them all was a tenth of a plan.
 */
export type WantBridge = WantCommon & { role: 'bridge' | 'vlan-bridge'; kind: 'bridge'; bridge: BridgeOpts; macSeed?: string };
/** The NIC, of whatever kind it is; `from`: its current name when it still has to be renamed to `name`. */
export type WantNic = WantCommon & { role: 'nic'; kind: LinkKind; from?: string; bond?: BondOpts };
/** A NIC enslaved to the bond that is a bridge's uplink (its master). */
export type WantMember = WantCommon & { role: 'member'; kind: LinkKind };
export type WantDom0 = WantCommon & { role: 'dom0'; kind: 'veth'; veth: { peer: string } };
export type WantPeer = WantCommon & { role: 'peer'; kind: 'veth' };
export type WantVlan = WantCommon & { role: 'vlan'; kind: 'vlan'; vlan: { parent: string; id: number } };

/** A link the topology wants, by what it is for. */
export type WantLink = WantBridge | WantNic | WantMember | WantDom0 | WantPeer | WantVlan;
export type Role = WantLink['role'];

export interface WantAddr {
  dev: string;
  addr: Addr;
}

export interface Want {
  links: WantLink[];
  addrs: WantAddr[];
  routes: Route[];
  vlanEntries: VlanEntry[];
  /** Addresses and routes to take off the NIC (and off VLAN devices that sat on it). */
  moveFrom: { link: Link; to: string }[];
  /** VLAN devices found on the NIC: recreated on dom0's interface. */
  removeVlans: Link[];
  /** dom0 interfaces whose IPv4 comes from a DHCP client; a leased address on the NIC moves there with its lifetime. */
  dhcp: string[];
  /** dom0 interfaces that take routers' advertisements (slaac, dhcp6); SLAAC and DHCPv6 addresses on the NIC move there with their lifetimes. */
  ra: WantRa[];
  /** dom0 interfaces a DHCPv6 client runs on. */
  dhcp6: string[];
}

const staticAddr = (cidr: string): Addr => {
  const [local = '', len = '0'] = cidr.split('/');
  return { family: local.includes(':') ? 6 : 4, local, prefixlen: Number(len), scope: 'global', flags: [], managed: false };
};

const defaultRoute = (gw: string, dev: string): Route => ({ family: gw.includes(':') ? 6 : 4, dst: 'default', gateway: gw, dev, onlink: false });

const findNic = (b: BridgeSpec, s: HostState, pinned: Map<string, Link>): Link => {
  const uplink = b.uplink ?? '';
  const named = pinned.get(uplink);
  if (named) return named;
  const candidates = [b.uplinkPort, uplink].flatMap((n) => (n === undefined ? [] : linkByName(s, n) ?? []));
  const nic = candidates.find(isNicLike);
  if (nic) return nic;
  const wrong = candidates.find((l) => l.name === uplink);
  if (wrong?.kind === 'vlan') {
    throw new XbError('config', `${b.where.uplink}: uplink ${uplink} is a VLAN device; a VLAN device must never be a bridge port`, {
      detail: [`make ${wrong.link} the uplink and list VLAN ${wrong.vlanId} under vlans`],
    });
  }
  const nics = s.links.filter(isNicLike).map((l) => l.name);
  throw new XbError('state', `${b.where.uplink}: uplink ${uplink} ${wrong ? `is a ${wrong.kindName}, not a NIC` : 'does not exist'}`, {
    detail: [`NICs here: ${nics.length > 0 ? nics.join(', ') : 'none'}`],
  });
};

/** dom0 keeps the NIC's MAC so neighbours' ARP caches stay right; the NIC port gets Xen's fe:ff:ff:ff:ff:ff. */
const dom0Mac = (b: BridgeSpec, s: HostState, nic: Link | undefined): string => {
  const veth = linkByName(s, b.dom0.ifname);
  if (veth?.kind === 'veth' && veth.link === b.dom0.peer) return veth.mac;
  if (nic && nic.mac !== XEN_PORT_MAC) return nic.mac;
  if (nic?.permaddr) return nic.permaddr;
  return deriveBridgeMac('02:00:00:00:00:00', `${b.name}/dom0`);
};

const wantBridge = (b: BridgeSpec, t: Topology, s: HostState, want: Want, pinned: Map<string, Link>): void => {
  const bondSpec = t.bonds.find((x) => x.name === b.uplink);
  const bond = bondSpec ? findBond(b, bondSpec, s) : undefined;
  const nic = b.uplink === undefined ? undefined : bond?.link ?? findNic(b, s, pinned);
  const mac = dom0Mac(b, s, nic);
  const opts: BridgeOpts = { stp: b.stp, forwardDelay: b.forwardDelay * 100, vlanFiltering: b.mode === 'filtering' };
  const owner = b.name;
  want.links.push({ name: b.name, role: 'bridge', owner, kind: 'bridge', mtu: b.mtu, mac: b.mac, createMac: b.mac, macSeed: mac, bridge: opts, arp: false });
  if (nic && b.uplinkPort) {
    const from = nic.name === b.uplinkPort ? undefined : nic.name;
    if (bondSpec && bond) {
      // Not Xen's fe:ff:ff:ff:ff:ff: 802.3ad takes the bond's MAC as its LACP system ID, which must
      // differ between hosts on one switch; this one is derived from the host's own MAC.
      const portMac = deriveBridgeMac(mac, b.uplinkPort);
      want.links.push({ name: b.uplinkPort, role: 'nic', owner, kind: 'bond', from, mtu: b.mtu ?? (bond.exists ? undefined : nic.mtu), mac: portMac, master: b.name, bond: bondSpec });
      want.links.push(...bond.members.map((m): WantLink => ({ name: m.name, role: 'member', owner, kind: m.kind, master: b.uplinkPort })));
      want.moveFrom.push(...bond.members.map((m) => ({ link: m, to: b.dom0.ifname })));
    } else {
      want.links.push({ name: b.uplinkPort, role: 'nic', owner, kind: nic.kind, from, mtu: b.mtu, mac: XEN_PORT_MAC, master: b.name });
    }
    if (!bond || bond.exists) want.moveFrom.push({ link: nic, to: b.dom0.ifname });
    for (const v of s.links.filter((l) => l.kind === 'vlan' && l.link === nic.name)) {
      const spec = b.vlans.find((x) => x.id === v.vlanId);
      if (!spec) {
        throw new XbError('state', `${b.where.uplink}: ${v.name} (VLAN ${v.vlanId}) sits on the NIC ${nic.name}, which becomes a bridge port; it would steal VLAN ${v.vlanId} from ${b.name}`, {
          detail: [`list VLAN ${v.vlanId} under ${b.name}'s vlans (xenbridge then moves it to dom0's ${b.dom0.ifname}), or delete ${v.name} first`],
        });
      }
      want.removeVlans.push(v);
      want.moveFrom.push({ link: v, to: spec.bridge ?? spec.device });
    }
  }
  const mtu = b.mtu ?? nic?.mtu;
  want.links.push({ name: b.dom0.ifname, role: 'dom0', owner, kind: 'veth', mtu, createMac: mac, master: null, veth: { peer: b.dom0.peer } });
  want.links.push({ name: b.dom0.peer, role: 'peer', owner, kind: 'veth', mtu, createMac: XEN_PORT_MAC, master: b.name });
  want.addrs.push(...b.dom0.addresses.map((a) => ({ dev: b.dom0.ifname, addr: staticAddr(a) })));
  if (b.dom0.gateway) want.routes.push(defaultRoute(b.dom0.gateway, b.dom0.ifname));
  if (b.dom0.dhcp) want.dhcp.push(b.dom0.ifname);
  if (b.dom0.slaac === true || b.dom0.dhcp6 === true) want.ra.push({ dev: b.dom0.ifname, slaac: b.dom0.slaac === true });
  if (b.dom0.dhcp6 === true) want.dhcp6.push(b.dom0.ifname);
  for (const v of b.vlans) {
    const vmtu = v.mtu ?? b.mtu;
    want.links.push({ name: v.device, role: 'vlan', owner, kind: 'vlan', mtu: vmtu, master: v.bridge ?? null, vlan: { parent: b.dom0.ifname, id: v.id } });
    if (v.bridge) {
      want.links.push({ name: v.bridge, role: 'vlan-bridge', owner, kind: 'bridge', mtu: vmtu, createMac: mac, bridge: { ...opts, vlanFiltering: false } });
    }
    const dev = v.bridge ?? v.device;
    want.addrs.push(...v.addresses.map((a) => ({ dev, addr: staticAddr(a) })));
    if (v.gateway) want.routes.push(defaultRoute(v.gateway, dev));
  }
  if (b.mode === 'filtering') {
    const trunks = [b.uplinkPort, b.dom0.peer].filter((n): n is string => n !== undefined);
    for (const dev of trunks) {
      want.vlanEntries.push(...b.vlans.map((v) => ({ dev, vid: v.id, pvid: false, untagged: false })));
      want.vlanEntries.push(...b.vifVlans.map((r) => ({ dev, vid: r.start, vidEnd: r.end, pvid: false, untagged: false })));
    }
  }
};

/** `pinned`: uplink name -> the NIC a `names:` rule found for it, still under its current name. */
export const desiredState = (t: Topology, s: HostState, pinned: Map<string, Link> = new Map()): Want => {
  const want: Want = { links: [], addrs: [], routes: [], vlanEntries: [], moveFrom: [], removeVlans: [], dhcp: [], ra: [], dhcp6: [] };
  for (const b of t.bridges) wantBridge(b, t, s, want, pinned);
  const takenOver = new Set(t.bridges.filter((b) => b.uplink !== undefined && b.dom0.ifname === b.uplink).map((b) => b.uplink));
  for (const w of want.links) {
    const cur = linkByName(s, w.name);
    const renamingNic = takenOver.has(w.name) && cur && (isNicLike(cur) || cur.kind === 'bond');
    const beingRemoved = want.removeVlans.some((v) => v.name === w.name);
    if (cur && w.role !== 'nic' && !renamingNic && !beingRemoved && cur.kind !== w.kind) {
      throw new XbError('state', `${w.name} already exists as a ${cur.kindName}, but ${w.owner} needs it to be a ${w.kind} (${w.role})`, {
        detail: ['rename or delete it, or choose another name in the file'],
      });
    }
  }
  return want;
};
