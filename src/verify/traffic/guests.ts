/**
 * The paths a guest's frames take, probed from probe ports: one port per bridge a guest could be
 * attached to. On a trunk bridge the probe sends untagged and, for each VLAN, tagged as a guest that
 * tags itself would; on a classic per-VLAN bridge it sends untagged, as an access guest does. Each
 * path's hops: the probe port, then the chain to the uplink as the live state has it. Where dom0's
 * IPv6 path has a target, the probe also sends ICMPv6 echoes (small and full-size) to it from a
 * link-local address of its own, as a guest without a global address would. Pure.
 */
import type { BridgeSpec, Topology } from '../../model/topology.js';
import { linkByName, type HostState } from '../../state/types.js';
import { covers, entriesOf } from './evidence.js';
import type { NetworkSel } from './paths.js';
import { chainChecks, uplinkOf, walk } from './paths.js';
import { isLinkLocal, probeLinkLocal } from './paths6.js';
import type { ProbePort } from './probe-ports.js';
import type { Target } from './targets.js';
import type { Check, Hop, PathSpec, SkippedPath, Tag } from './types.js';

export interface GuestPlan {
  ports: ProbePort[];
  /** Per probe port: the VIDs its other end sends tagged (one VLAN device each). */
  tagged: Map<string, number[]>;
  paths: PathSpec[];
  /** Per path id: where its target came from. */
  targets: Map<string, Target>;
  skipped: SkippedPath[];
  /** ip -batch lines for the private namespace: the IPv6 paths' link-local addresses and on-link routes to their targets. */
  inside6: string[];
}

export interface GuestNames {
  ns: string;
  ports: string[];
  peers: string[];
  macs: string[];
}

/** VLANs probed per bridge at most. */
const MAX_VLANS = 32;

const REQUEST: Check = { probe: 'arp', dir: 'request' };
const REPLY: Check = { probe: 'arp', dir: 'reply' };

/** How a filtering bridge's uplink sends a VID: untagged if its entry says so. */
const uplinkTag = (s: HostState, uplink: string, vid: number | null, filtering: boolean): Tag => {
  if (!filtering) return vid;
  const e = entriesOf(s, uplink).find((x) => covers(x, vid ?? 1));
  if (vid === null) return e && !e.untagged ? 1 : null;
  return e?.untagged ? null : vid;
};

const netText = (vid: number | null): string => (vid === null ? 'untagged' : `vlan ${vid}`);

/** Replies from beyond the uplink cross every hop; dom0's own answer never reaches the uplink. */
const checksFor = (t: Target, hop: 'probe' | 'chain'): Check[] =>
  t.answers === 'none' ? [REQUEST] : t.answers === 'dom0' && hop === 'chain' ? [REQUEST] : [REQUEST, REPLY];

export interface GuestInput {
  t: Topology;
  s: HostState;
  /** VIDs beyond the file's: given with --vlan, or heard on the uplink (key: the bridge's name). */
  extra: Map<string, number[]>;
  sel: NetworkSel[];
  targetOf: (b: BridgeSpec, vid: number | null) => Target;
  /** dom0's IPv6 target on the network, when it has an IPv6 path there. */
  target6Of?: (b: BridgeSpec, vid: number | null) => string | undefined;
  firstIndex: number;
  names: (count: number) => GuestNames;
}

interface Attach {
  b: BridgeSpec;
  bridge: string;
  filtering: boolean;
  /** null: the untagged network; a number: a VLAN, sent tagged on a trunk, untagged on an access bridge. */
  nets: { vid: number | null; tagged: boolean }[];
  access: boolean;
}

/** The kernel allows quotes and # in names; ip -batch reads them as quoting and comments. */
const batchSafe = (name: string): boolean => /^[^\s#"'\\]{1,15}$/.test(name);

const attachments = (g: GuestInput, skipped: SkippedPath[]): Attach[] => {
  const wanted = (vid: number | null): boolean => g.sel.length === 0 || g.sel.includes(vid ?? 'untagged');
  const out: Attach[] = [];
  for (const b of g.t.bridges) {
    const trunk = linkByName(g.s, b.name);
    if (!batchSafe(b.name)) {
      skipped.push({ id: `guest on ${JSON.stringify(b.name)}`, reason: 'its name cannot be written in an ip -batch line (quotes, #, backslash)' });
      continue;
    }
    if (!trunk || trunk.kind !== 'bridge') {
      skipped.push({ id: `guest on ${b.name}`, reason: `${b.name} is not a bridge in the live state` });
      continue;
    }
    const all = [...new Set([...b.vlans.map((v) => v.id), ...(g.extra.get(b.name) ?? [])])].sort((x, y) => x - y).filter(wanted);
    // Bounded: one VLAN device and one path per VID; the rest are named, to be asked for with --vlan.
    const vids = all.slice(0, MAX_VLANS);
    if (all.length > MAX_VLANS) skipped.push({ id: `guest on ${b.name}`, reason: `${all.length} VLANs: probed the first ${MAX_VLANS}; ask for others with --vlan (${all.slice(MAX_VLANS, MAX_VLANS + 5).join(', ')}${all.length > MAX_VLANS + 5 ? ', …' : ''})` });
    const filtering = trunk.bridge?.vlanFiltering === true;
    out.push({ b, bridge: b.name, filtering, access: false, nets: [null, ...vids].filter(wanted).map((vid) => ({ vid, tagged: vid !== null })) });
    if (filtering) continue;
    for (const v of b.vlans) {
      if (v.bridge && v.bridge !== b.name && batchSafe(v.bridge) && linkByName(g.s, v.bridge)?.kind === 'bridge' && wanted(v.id)) {
        out.push({ b, bridge: v.bridge, filtering: false, access: true, nets: [{ vid: v.id, tagged: false }] });
      }
    }
  }
  return out.filter((a) => a.nets.length > 0);
};

/** The hops after the probe port: the trunk's uplink, or an access bridge's chain down to it. */
const chainOf = (g: GuestInput, a: Attach, port: string, vid: number | null): { hops: Hop[]; problems: string[] } => {
  if (!a.access) {
    const up = uplinkOf(g.s, a.bridge, a.b, new Set([port]));
    if (!up) return { hops: [], problems: [`${a.bridge} has no uplink port`] };
    return { hops: [{ dev: up.name, role: 'uplink', master: a.bridge, tag: uplinkTag(g.s, up.name, vid, a.filtering), checks: [] }], problems: [] };
  }
  const w = walk(g.s, a.b, a.bridge, new Set([port]), []);
  const hops = w.hops.slice(1).map((h, i): Hop => (i === 0 && linkByName(g.s, h.dev)?.kind === 'vlan' ? { ...h, role: 'vlan-device' } : h));
  return { hops, problems: w.problems };
};

export const guestPlan = (g: GuestInput): GuestPlan => {
  const skipped: SkippedPath[] = [];
  const atts = attachments(g, skipped);
  const n = g.names(atts.length);
  const plan: GuestPlan = { ports: [], tagged: new Map(), paths: [], targets: new Map(), skipped, inside6: [] };
  atts.forEach((a, i) => {
    const port = n.ports[i] ?? `xbp${i}`;
    const peer = n.peers[i] ?? `eth${i}`;
    const tagged = a.nets.flatMap((x) => (x.tagged && x.vid !== null ? [x.vid] : []));
    const mtu = linkByName(g.s, a.bridge)?.mtu ?? 1500;
    plan.ports.push({ port, bridge: a.bridge, peer, mac: n.macs[i] ?? '02:00:00:00:00:01', vids: tagged, filtering: a.filtering, mtu });
    plan.tagged.set(port, tagged);
    for (const net of a.nets) {
      const id = a.access ? `guest on ${a.bridge} (vlan ${net.vid}, access)` : `guest on ${a.bridge}, ${netText(net.vid)}`;
      const target = g.targetOf(a.b, net.vid);
      const chain = chainOf(g, a, port, net.vid);
      if (chain.hops.length === 0) {
        skipped.push({ id, reason: chain.problems.join('; ') || `${a.bridge} has no way out` });
        continue;
      }
      const hops: Hop[] = [
        { dev: port, role: 'probe', master: a.bridge, tag: net.tagged ? net.vid : null, checks: checksFor(target, 'probe') },
        ...chain.hops.map((h) => ({ ...h, checks: checksFor(target, 'chain') })),
      ];
      plan.targets.set(id, target);
      const origin = net.tagged ? `${peer}.${net.vid}` : peer;
      const base = { bridge: a.b.name, mode: a.filtering ? 'filtering' as const : 'classic' as const, vid: net.vid, origin, originMac: n.macs[i], problems: chain.problems, guest: { port, ns: n.ns } };
      plan.paths.push({ ...base, id, target: target.address, primary: 'arp', hops, index: g.firstIndex + plan.paths.length });
      const t6 = g.target6Of?.(a.b, net.vid);
      const mac = n.macs[i];
      if (t6 === undefined || mac === undefined) continue;
      const source = probeLinkLocal(mac);
      plan.inside6.push(`addr add ${source}/64 dev ${origin} nodad`, ...(isLinkLocal(t6) ? [] : [`route add ${t6}/128 dev ${origin}`]));
      plan.paths.push({
        ...base, id: `${id} IPv6`, target: t6, source, primary: 'echo', family: 6, dfSize: mtu, index: g.firstIndex + plan.paths.length,
        hops: hops.map((h) => ({ ...h, checks: chainChecks('echo', true) })),
      });
    }
  });
  return plan;
};
