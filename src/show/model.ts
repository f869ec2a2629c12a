/** Live state -> the topology it implements (bridges, their uplink, dom0 veth, VLANs) plus vif ports. */
import { dom0Of, isNicLike, linkByName, portsOf, type HostState, type Link } from '../state/types.js';
import { isBondUplink, shownBond, type ShownBond } from './bond.js';

export interface ShownVlan {
  id: number;
  device: string;
  bridge?: string;
  addresses: string[];
  ports: string[];
}

export interface ShownBridge {
  name: string;
  mode: 'classic' | 'filtering';
  mtu: number;
  mac: string;
  stp: boolean;
  forwardDelay: number;
  up: boolean;
  uplink?: { name: string; mac: string; up: boolean; carrier: boolean; bond?: ShownBond };
  dom0?: { ifname: string; peer: string; mac: string; addresses: string[]; gateway?: string; dhcp?: true; slaac?: true; dhcp6?: true };
  vlans: ShownVlan[];
  /** Other ports: vifs and anything else an admin attached. */
  ports: { name: string; vids: number[] }[];
  /** Filtering mode: the VIDs the trunk (uplink, else dom0's port) carries besides the native VLAN 1. */
  trunkVids: number[];
}

export interface ShownNic {
  name: string;
  mac: string;
  permaddr?: string;
  pci?: string;
  driver?: string;
  up: boolean;
  master?: string;
  /** The name a `names:` rule of the topology file gives this NIC. */
  stableName?: string;
}

export interface Shown {
  bridges: ShownBridge[];
  nics: ShownNic[];
}

const addrsOf = (l: Link | undefined): string[] => (l?.addrs ?? []).filter((a) => !a.managed).map((a) => `${a.local}/${a.prefixlen}`);

/** A default route a DHCP client or a router's advertisement made is theirs, not the file's. */
const gatewayOf = (s: HostState, dev: string): string | undefined => s.routes.find((r) => r.dst === 'default' && r.dev === dev && r.protocol !== 'dhcp' && r.protocol !== 'ra')?.gateway;

const dynamic6 = (l: Link, slaac: boolean): true | undefined =>
  (l.addrs.some((a) => a.family === 6 && a.scope === 'global' && a.validLft !== undefined && a.flags.includes('mngtmpaddr') === slaac) ? true : undefined);

/**
 * IPv6 addresses with a lifetime: the kernel marks those its SLAAC makes mngtmpaddr (it manages
 * their temporary addresses), a DHCPv6 client's are not; either kind keeps its flags when it moves.
 */
const slaacOn = (l: Link): true | undefined => dynamic6(l, true);
const dhcp6On = (l: Link): true | undefined => dynamic6(l, false);

/** An IPv4 address with a lifetime on dom0's interface is a lease: the file says dhcp. */
const leased = (l: Link): true | undefined => (l.addrs.some((a) => a.family === 4 && a.scope === 'global' && a.validLft !== undefined) ? true : undefined);

const vidsOf = (s: HostState, dev: string): number[] =>
  s.vlans.filter((e) => e.dev === dev).flatMap((e) => Array.from({ length: (e.vidEnd ?? e.vid) - e.vid + 1 }, (_, i) => e.vid + i));

const isVlanBridge = (s: HostState, b: Link): boolean =>
  portsOf(s, b.name).some((p) => p.kind === 'vlan' && !linkByName(s, p.link ?? '')?.master);

export const showModel = (s: HostState, drivers: Record<string, string> = {}, stable: Record<string, string> = {}): Shown => {
  const bridges = s.links.filter((l) => l.kind === 'bridge' && !isVlanBridge(s, l)).map((b): ShownBridge => {
    const ports = portsOf(s, b.name);
    // A bond is the uplink wherever it sits among the ports; guests' veths in a lab look like NICs too.
    const nic = ports.find(isBondUplink) ?? ports.find(isNicLike);
    const pair = dom0Of(s, b.name);
    const filtering = b.bridge?.vlanFiltering ?? false;
    const vlanDevs = pair ? s.links.filter((l) => l.kind === 'vlan' && l.link === pair.dom0.name) : [];
    const vlans = vlanDevs.map((v): ShownVlan => {
      const vb = v.master ? linkByName(s, v.master) : undefined;
      return {
        id: v.vlanId ?? 0, device: v.name, bridge: vb?.name,
        addresses: addrsOf(vb ?? v),
        ports: vb ? portsOf(s, vb.name).filter((p) => p.name !== v.name).map((p) => p.name) : [],
      };
    }).sort((a, c) => a.id - c.id);
    const known = new Set([nic?.name, pair?.peer.name]);
    return {
      name: b.name, mode: filtering ? 'filtering' : 'classic', mtu: b.mtu, mac: b.mac, up: b.up,
      stp: b.bridge?.stp ?? false, forwardDelay: Math.round((b.bridge?.forwardDelay ?? 0) / 100),
      uplink: nic ? { name: nic.name, mac: nic.mac, up: nic.up, carrier: nic.carrier, ...(isBondUplink(nic) ? { bond: shownBond(s, nic) } : {}) } : undefined,
      dom0: pair ? { ifname: pair.dom0.name, peer: pair.peer.name, mac: pair.dom0.mac, addresses: addrsOf(pair.dom0), gateway: gatewayOf(s, pair.dom0.name), dhcp: leased(pair.dom0), slaac: slaacOn(pair.dom0), dhcp6: dhcp6On(pair.dom0) } : undefined,
      vlans,
      ports: ports.filter((p) => !known.has(p.name)).map((p) => ({ name: p.name, vids: filtering ? vidsOf(s, p.name) : [] })),
      trunkVids: filtering ? vidsOf(s, (nic ?? pair?.peer)?.name ?? '').filter((v) => v !== 1) : [],
    };
  });
  const nics = s.links.filter(isNicLike).map((l): ShownNic => ({
    name: l.name, mac: l.mac, permaddr: l.permaddr, pci: l.pci ?? (l.parentbus === 'pci' ? l.parentdev : undefined),
    driver: drivers[l.name] ?? l.driver, up: l.up, master: l.master, stableName: stable[l.name],
  }));
  return { bridges, nics };
};
