/**
 * The hops each probe must cross. The file says which networks to probe and where dom0 should
 * talk on each; the live state says where it really does, and the chain is followed from there
 * down to the uplink (bridge -> its VLAN port -> the VLAN's lower device -> veth peer -> the peer's
 * bridge -> that bridge's uplink), so a layout that differs from the file is probed as it is.
 */
import { inSubnet, ipFamily } from '../../model/net.js';
import type { BridgeSpec, Topology } from '../../model/topology.js';
import { linkByName, portsOf, type HostState, type Link } from '../../state/types.js';
import type { Check, Hop, HopRole, PathSpec, SkippedPath, Tag, VifExpectation } from './types.js';
import { NOBODY } from './targets.js';
import { vifTag } from './vifs.js';

/** The untagged network is written "untagged" where a VLAN ID would go. */
export type NetworkSel = number | 'untagged';

/** The source of a topology read off the live state (discover.ts). */
export const DISCOVERED = '(live state)';

export const VIF_NAME = /^(vif|tap)\d+\.\d+/;

const v4Holding = (l: Link, target: string): string | undefined =>
  l.addrs.find((a) => a.family === 4 && a.scope !== 'host' && inSubnet({ family: 4, address: a.local, prefix: a.prefixlen }, target))?.local;

/** Links that stand for NICs joined together. */
const AGGREGATE = new Set(['bond', 'team']);

/** The bridge's way out: the file's uplink port, else a NIC-like port that is no guest's. */
export const uplinkOf = (s: HostState, bridge: string, b: BridgeSpec, vifs: Set<string>): Link | undefined => {
  const ports = portsOf(s, bridge);
  if (bridge === b.name && b.uplinkPort) {
    const named = ports.find((p) => p.name === b.uplinkPort);
    if (named) return named;
  }
  return ports.find((p) => (p.kind === 'device' || AGGREGATE.has(p.kindName) || (p.kind === 'veth' && p.peerElsewhere)) && !VIF_NAME.test(p.name) && !vifs.has(p.name));
};

interface Origin {
  dev: string;
  source?: string;
}

/** Where dom0 talks to `target`: the file's interface if it holds an address there, else whichever does. */
/** The interface the file puts dom0's address of network `vid` on. */
export const expectedOrigin = (b: BridgeSpec, vid: number | null): string => {
  const v = b.vlans.find((x) => x.id === vid);
  return vid === null ? b.dom0.ifname : b.mode === 'classic' ? v?.bridge ?? b.dom0.ifname : v?.device ?? b.dom0.ifname;
};

const findOrigin = (s: HostState, b: BridgeSpec, vid: number | null, target: string | undefined): Origin => {
  const expected = expectedOrigin(b, vid);
  const want = linkByName(s, expected);
  const holding = (l: Link): string | undefined => (target === undefined ? undefined : v4Holding(l, target));
  const src = want ? holding(want) : undefined;
  if (want && (src || target === undefined)) return { dev: expected, source: src };
  for (const l of s.links) {
    const a = holding(l);
    if (a && l.kind !== 'loopback') return { dev: l.name, source: a };
  }
  if (want || vid === null) return { dev: expected };
  const dev = s.links.find((l) => l.kind === 'vlan' && l.vlanId === vid && (l.link === b.dom0.ifname || l.link === b.uplinkPort))
    ?? s.links.find((l) => l.kind === 'vlan' && l.vlanId === vid);
  if (!dev) return { dev: expected };
  const master = dev.master ? linkByName(s, dev.master) : undefined;
  return { dev: master && master.name !== b.name ? master.name : dev.name };
};

export const chainChecks = (primary: 'echo' | 'arp', df: boolean): Check[] => [
  { probe: primary, dir: 'request' }, { probe: primary, dir: 'reply' },
  ...(df ? [{ probe: 'df' as const, dir: 'request' as const }, { probe: 'df' as const, dir: 'reply' as const }] : []),
];

const roleOf = (l: Link, first: boolean, isUplink: boolean): HopRole => {
  if (first) return 'dom0';
  if (isUplink) return 'uplink';
  if (l.kind === 'vlan') return 'vlan-device';
  return l.master ? 'bridge-port' : 'dom0-veth';
};

/** The next link towards the uplink, or undefined at the end (or a dead end, with its reason). */
const nextOf = (s: HostState, b: BridgeSpec, l: Link, vifs: Set<string>): { next?: string; problem?: string } => {
  if (l.kind === 'bridge') {
    const ports = portsOf(s, l.name);
    const next = (ports.find((p) => p.kind === 'vlan') ?? uplinkOf(s, l.name, b, vifs) ?? ports.find((p) => p.name === b.dom0.peer))?.name;
    return next === undefined ? { problem: `${l.name} has no port towards the uplink` } : { next };
  }
  if (l.kind === 'vlan') return { next: l.link };
  if (l.master) {
    const next = uplinkOf(s, l.master, b, vifs)?.name;
    return next === undefined ? { problem: `${l.master} has no uplink port` } : { next };
  }
  if (l.kind === 'veth' && l.link && !l.peerElsewhere) return { next: l.link };
  return {};
};

/** Follows the live links from the origin to the uplink; stops (with a problem) at a missing link. */
export const walk = (s: HostState, b: BridgeSpec, origin: string, vifs: Set<string>, checks: Check[]): { hops: Hop[]; problems: string[] } => {
  const hops: Hop[] = [];
  const problems: string[] = [];
  let tag: Tag = null;
  let cur: string | undefined = origin;
  while (cur !== undefined && !hops.some((h) => h.dev === cur)) {
    const l = linkByName(s, cur);
    if (!l) {
      hops.push({ dev: cur, role: hops.length === 0 ? 'dom0' : 'bridge-port', tag, checks });
      problems.push(`${cur} does not exist`);
      break;
    }
    const isUplink = l.master !== undefined && uplinkOf(s, l.master, b, vifs)?.name === l.name;
    hops.push({ dev: l.name, role: roleOf(l, hops.length === 0, isUplink), master: l.master, tag, checks });
    if (isUplink) break;
    // Below a VLAN device its frames carry its tag.
    if (l.kind === 'vlan') tag = l.vlanId ?? null;
    const { next, problem } = nextOf(s, b, l, vifs);
    if (problem) problems.push(problem);
    cur = next;
  }
  return { hops, problems };
};

export const pathId = (t: Topology, b: BridgeSpec, vid: number | null): string =>
  `${t.bridges.length > 1 ? `${b.name} ` : ''}${vid === null ? 'untagged' : `vlan ${vid}`}`;

/** The untagged network's probe: dom0's gateway from the file, else the live default route's. */
const untaggedTarget = (s: HostState, b: BridgeSpec, only: boolean): string | undefined =>
  b.dom0.gateway ?? s.routes.find((r) => r.family === 4 && r.dst === 'default' && r.gateway && r.dev === b.dom0.ifname)?.gateway
    ?? (only ? s.routes.find((r) => r.family === 4 && r.dst === 'default' && r.gateway)?.gateway : undefined);

/**
 * The paths to probe. `passive` (--listen) keeps every network of the file, probe address or not,
 * and asks nothing of any hop.
 */
export const derivePaths = (
  t: Topology, s: HostState, vifs: VifExpectation[], sel: NetworkSel[] = [], passive = false, fallback?: (b: BridgeSpec, vid: number | null) => string | undefined,
): { paths: PathSpec[]; skipped: SkippedPath[] } => {
  const paths: PathSpec[] = [];
  const skipped: SkippedPath[] = [];
  const vifNames = new Set(vifs.map((v) => v.vif));
  const wanted = (vid: number | null): boolean => sel.length === 0 || sel.includes(vid === null ? 'untagged' : vid);
  for (const b of t.bridges) {
    const nets: { vid: number | null; target?: string; mtu?: number }[] = [
      { vid: null, target: untaggedTarget(s, b, t.bridges.length === 1) ?? fallback?.(b, null), mtu: b.mtu },
      ...b.vlans.map((v) => ({ vid: v.id, target: v.probe ?? fallback?.(b, v.id), mtu: v.mtu ?? b.mtu })),
    ];
    for (const n of nets.filter((x) => wanted(x.vid))) {
      const id = pathId(t, b, n.vid);
      const why = n.target === undefined
        ? n.vid === null ? 'no gateway to probe (set dom0.gateway)' : `no probe address (set vlans[].probe for VLAN ${n.vid})`
        : ipFamily(n.target) !== 4 ? `probe ${n.target} is IPv6: it is probed on the network's IPv6 path` : undefined;
      if (why && !passive) {
        skipped.push({ id, reason: why });
        continue;
      }
      const target = why ? undefined : n.target;
      const origin = findOrigin(s, b, n.vid, target);
      // A discovered VLAN that dom0 has no interface on is a guests' network only: probe ports cover it.
      const device = b.vlans.find((v) => v.id === n.vid)?.device;
      if (t.source === DISCOVERED && !passive && (!linkByName(s, origin.dev) || (device !== undefined && !linkByName(s, device)))) {
        skipped.push({ id, reason: `dom0 has no interface on VLAN ${n.vid}` });
        continue;
      }
      const primary = origin.source ? 'echo' : 'arp';
      const originLink = linkByName(s, origin.dev);
      const dfSize = primary === 'echo' ? n.mtu ?? originLink?.mtu : undefined;
      // Nothing known answers there: the ARP request is a broadcast the uplink must still carry.
      const checks = passive ? [] : target === NOBODY ? [{ probe: 'arp' as const, dir: 'request' as const }] : chainChecks(primary, dfSize !== undefined);
      const { hops, problems } = walk(s, b, origin.dev, vifNames, checks);
      for (const x of vifs) {
        const tag = vifTag(x, n.vid);
        if (tag === undefined || (x.bridge !== undefined && !isOnBridge(b, x.bridge))) continue;
        hops.push({ dev: x.vif, role: 'vif', master: linkByName(s, x.vif)?.master, tag, checks: passive ? [] : [{ probe: 'arp', dir: 'request' }] });
      }
      paths.push({
        id, bridge: b.name, mode: b.mode, vid: n.vid, target: target ?? '', source: origin.source, origin: origin.dev,
        originMac: originLink?.mac, primary, dfSize, hops, problems, index: paths.length,
      });
    }
  }
  return { paths, skipped };
};

/** A vif's expected bridge belongs to this topology bridge (the trunk or one of its per-VLAN bridges). */
const isOnBridge = (b: BridgeSpec, bridge: string): boolean => bridge === b.name || b.vlans.some((v) => v.bridge === bridge);
