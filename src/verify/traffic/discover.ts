/**
 * A topology read off the live state, for hosts without a file (a network-bridge layout, an
 * ifupdown file, a Proxmox host): each bridge that is not a per-VLAN bridge of another is a trunk;
 * its uplink is its NIC-like port; dom0 is the veth end whose peer is a port, or the bridge itself;
 * its VLANs are the VLAN devices anywhere on its side, the VIDs its ports carry, and those heard on
 * its uplink. The traffic verify then runs on it as on a file. Pure.
 */
import type { BridgeSpec, Topology, VlanSpec } from '../../model/topology.js';
import { linkByName, portsOf, type HostState, type Link, type VlanEntry } from '../../state/types.js';
import { DISCOVERED, uplinkOf } from './paths.js';
import type { WireSample } from './targets.js';

/** Entries wider than this are "allow everything" ranges (Proxmox's 2-4094), not VLANs in use. */
const MAX_RANGE = 16;

/** The trunk bridge below a VLAN device: its lower device's bridge, through dom0's veth pair. */
const trunkBelow = (s: HostState, vlanDev: Link): string | undefined => {
  const lower = vlanDev.link ? linkByName(s, vlanDev.link) : undefined;
  if (!lower) return undefined;
  if (lower.kind === 'bridge') return lower.name;
  if (lower.master) return lower.master;
  const peer = lower.kind === 'veth' && lower.link ? linkByName(s, lower.link) : undefined;
  return peer?.master;
};

/** Per-VLAN bridges: a bridge with a VLAN device port that leads down to another bridge. */
const perVlanBridges = (s: HostState): Map<string, { trunk: string; vid: number; device: string }> => {
  const out = new Map<string, { trunk: string; vid: number; device: string }>();
  for (const l of s.links) {
    if (l.kind !== 'vlan' || !l.master || l.vlanId === undefined) continue;
    const trunk = trunkBelow(s, l);
    if (trunk && trunk !== l.master) out.set(l.master, { trunk, vid: l.vlanId, device: l.name });
  }
  return out;
};

const dom0Of = (s: HostState, bridge: string): { ifname: string; peer: string } => {
  // network-bridge named this port vif0.0: a veth whose peer is here is dom0's, whatever its name.
  const port = portsOf(s, bridge).find((p) => p.kind === 'veth' && !p.peerElsewhere && p.link && !linkByName(s, p.link)?.master);
  return port?.link ? { ifname: port.link, peer: port.name } : { ifname: bridge, peer: bridge };
};

const v4Of = (l: Link | undefined): string[] => (l?.addrs ?? []).filter((a) => a.family === 4 && !a.managed).map((a) => `${a.local}/${a.prefixlen}`);

/**
 * `bridge -j vlan show` lists every VID of a range on its own (2, 3, … 4094): consecutive VIDs of
 * one port with the same flags are joined back into ranges, so "allow everything" is seen as such.
 */
export const coalesce = (es: VlanEntry[]): VlanEntry[] => {
  const out: VlanEntry[] = [];
  for (const e of [...es].sort((a, b) => (a.dev === b.dev ? a.vid - b.vid : a.dev < b.dev ? -1 : 1))) {
    const last = out[out.length - 1];
    if (last && last.dev === e.dev && last.pvid === e.pvid && last.untagged === e.untagged && !e.pvid && (last.vidEnd ?? last.vid) + 1 === e.vid) {
      last.vidEnd = e.vidEnd ?? e.vid;
    } else out.push({ ...e });
  }
  return out;
};

/** VIDs a filtering bridge's ports (and the bridge itself) carry, leaving out allow-all ranges and the native VLAN 1. */
const entryVids = (s: HostState, bridge: string): number[] => {
  const devs = new Set([bridge, ...portsOf(s, bridge).map((p) => p.name)]);
  return coalesce(s.vlans).filter((e) => devs.has(e.dev) && (e.vidEnd ?? e.vid) - e.vid < MAX_RANGE).flatMap((e) => {
    const out: number[] = [];
    for (let v = e.vid; v <= (e.vidEnd ?? e.vid); v++) if (!(v === 1 && e.pvid)) out.push(v);
    return out;
  });
};

export const discoverTopology = (s: HostState, wire: WireSample[] = []): Topology => {
  const perVlan = perVlanBridges(s);
  const bridges: BridgeSpec[] = [];
  for (const br of s.links.filter((l) => l.kind === 'bridge' && !perVlan.has(l.name))) {
    const dom0 = dom0Of(s, br.name);
    const filtering = br.bridge?.vlanFiltering === true;
    const base: BridgeSpec = {
      name: br.name, mode: filtering ? 'filtering' : 'classic', stp: br.bridge?.stp ?? false, forwardDelay: 0,
      dom0: { ...dom0, addresses: v4Of(linkByName(s, dom0.ifname)), dhcp: false }, vlans: [], vifVlans: [], where: {},
      // A layout found on the host says nothing of per-vif guards: describe it as it runs, unguarded.
      vifAntispoof: false, insecureVifAllTags: true,
    };
    const up = uplinkOf(s, br.name, base, new Set());
    const b: BridgeSpec = up ? { ...base, uplink: up.name, uplinkPort: up.name } : base;
    const vlans = new Map<number, VlanSpec>();
    const add = (id: number, v: Partial<VlanSpec> = {}): void => {
      if (id < 1 || id > 4094) return;
      const had = vlans.get(id);
      vlans.set(id, { id, device: had?.device ?? v.device ?? `${dom0.ifname}.${id}`, addresses: had?.addresses.length ? had.addresses : v.addresses ?? [], bridge: had?.bridge ?? v.bridge });
    };
    for (const [name, pv] of perVlan) if (pv.trunk === br.name) add(pv.vid, { bridge: name, device: pv.device, addresses: v4Of(linkByName(s, name)) });
    const sides = new Set([br.name, dom0.ifname, ...(up ? [up.name] : [])]);
    for (const l of s.links) {
      if (l.kind === 'vlan' && l.vlanId !== undefined && l.link && (sides.has(l.link) || linkByName(s, l.link)?.master === br.name)) {
        add(l.vlanId, { device: l.name, addresses: v4Of(l) });
      }
    }
    if (filtering) for (const v of entryVids(s, br.name)) add(v);
    for (const v of wire.find((w) => w.dev === up?.name)?.vids ?? []) add(v);
    bridges.push({ ...b, vlans: [...vlans.values()].sort((x, y) => x.id - y.id) });
  }
  return { version: 1, source: DISCOVERED, bridges, bonds: [], names: [] };
};
