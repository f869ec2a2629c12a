/**
 * The IPv6 paths: for every network where dom0 holds an IPv6 address and something is known to
 * answer there (the file's IPv6 gateway or probe, else the gateway of an IPv6 route on dom0's
 * interface, link-local when that is what the route names), an ICMPv6 echo, a full-size one that
 * is never fragmented, and neighbour discovery through the same hops. Guests are asked with an
 * echo to all-nodes: the flood every vif must get, answered by each guest that xenstore gives an
 * IPv6 address. Router advertisements play no part (a guest's are dropped by its guard). Pure.
 */
import { inSubnet, ipFamily } from '../../model/net.js';
import type { BridgeSpec, Topology } from '../../model/topology.js';
import { linkByName, type HostState, type Link } from '../../state/types.js';
import { chainChecks, expectedOrigin, pathId, walk, type NetworkSel } from './paths.js';
import { networkDevices } from './targets.js';
import type { Check, Hop, PathSpec, SkippedPath, VifExpectation } from './types.js';
import { vifTag } from './vifs.js';

/** IPv6 header (40) and ICMPv6 echo header (8): ping -s MTU-48 makes a packet of exactly MTU bytes. */
export const IPV6_ICMP_HEADERS = 48;

/** RFC 5952's form, as `ip -j` and the frame decoder write addresses. */
export const canon6 = (a: string): string => {
  try {
    return new URL(`http://[${a}]`).hostname.slice(1, -1);
  } catch {
    // Not an address a URL can hold (a scope suffix): compared as written.
    return a.toLowerCase();
  }
};

export const isLinkLocal = (a: string): boolean => /^fe[89ab][0-9a-f]:/i.test(a);

/**
 * A probe port's link-local address, made from its random MAC but not the kernel's EUI-64 one: the
 * kernel gives its own (tentative for a second, so never the source) to every device of the
 * namespace, VLAN devices with the same MAC included, and one address cannot be added twice.
 */
export const probeLinkLocal = (mac: string): string => {
  const b = mac.split(':').map((x) => parseInt(x, 16) || 0);
  const g = [0, 1, 2].map((i) => ((b[i * 2] ?? 0) << 8) | (b[i * 2 + 1] ?? 0));
  return canon6(`fe80::${g.map((x) => x.toString(16)).join(':')}`);
};

/** dom0's address on `l` to send from: link-local for a link-local target, else one in the target's subnet. */
export const source6 = (l: Link, target: string): string | undefined => {
  const v6 = l.addrs.filter((a) => a.family === 6 && !a.flags.includes('tentative'));
  if (isLinkLocal(target)) return v6.find((a) => a.scope === 'link')?.local;
  return v6.find((a) => a.scope === 'global' && inSubnet({ family: 6, address: a.local, prefix: a.prefixlen }, target))?.local;
};

const hasGlobal6 = (l: Link | undefined): boolean => l?.addrs.some((a) => a.family === 6 && a.scope === 'global') === true;

const v6 = (a: string | undefined): string | undefined => (a !== undefined && ipFamily(a) === 6 ? canon6(a) : undefined);

/** The address to probe and the interface to probe it from: the file's, else an IPv6 route's gateway. */
const target6 = (s: HostState, b: BridgeSpec, vid: number | null): { target: string; dev?: string } | undefined => {
  const spec = b.vlans.find((v) => v.id === vid);
  const file = vid === null ? v6(b.dom0.gateway) : v6(spec?.probe) ?? v6(spec?.gateway);
  if (file) return { target: file };
  const names = new Set([expectedOrigin(b, vid), ...networkDevices(s, b, vid).map((l) => l.name)]);
  const route = s.routes.find((r) => r.family === 6 && r.gateway && r.dev && names.has(r.dev) && r.dst === 'default')
    ?? s.routes.find((r) => r.family === 6 && r.gateway && r.dev && names.has(r.dev));
  return route?.gateway ? { target: canon6(route.gateway), dev: route.dev } : undefined;
};

const MCAST_REQUEST: Check = { probe: 'mcast', dir: 'request' };
const MCAST_REPLY: Check = { probe: 'mcast', dir: 'reply' };

/** A vif hop of an IPv6 path: the all-nodes echo must reach it, and its guest must answer when xenstore gives it an IPv6 address. */
export const vifChecks6 = (x: VifExpectation): Check[] => [MCAST_REQUEST, ...(x.ip6 && x.ip6.length > 0 ? [MCAST_REPLY] : [])];

export const derivePaths6 = (t: Topology, s: HostState, vifs: VifExpectation[], sel: NetworkSel[], firstIndex: number): { paths: PathSpec[]; skipped: SkippedPath[] } => {
  const paths: PathSpec[] = [];
  const skipped: SkippedPath[] = [];
  const vifNames = new Set(vifs.map((v) => v.vif));
  const wanted = (vid: number | null): boolean => sel.length === 0 || sel.includes(vid === null ? 'untagged' : vid);
  for (const b of t.bridges) {
    for (const n of [{ vid: null, mtu: b.mtu }, ...b.vlans.map((v) => ({ vid: v.id, mtu: v.mtu ?? b.mtu }))].filter((x) => wanted(x.vid))) {
      const id = `${pathId(t, b, n.vid)} IPv6`;
      const tg = target6(s, b, n.vid);
      const dev = tg?.dev ?? expectedOrigin(b, n.vid);
      const origin = linkByName(s, dev);
      const source = origin && tg ? source6(origin, tg.target) : undefined;
      if (!tg || !origin || !source) {
        // A network without IPv6 is not a failure; one where dom0 has IPv6 but nothing to probe is named.
        if (hasGlobal6(origin)) skipped.push({ id, reason: tg ? `${dev} has no IPv6 address to reach ${tg.target} from` : 'no IPv6 gateway or probe address (an IPv6 route via a gateway on it, or vlans[].probe)' });
        continue;
      }
      const dfSize = n.mtu ?? origin.mtu;
      const { hops, problems } = walk(s, b, dev, vifNames, chainChecks('echo', true));
      for (const x of vifs) {
        const tag = vifTag(x, n.vid);
        if (tag === undefined || (x.bridge !== undefined && x.bridge !== b.name && !b.vlans.some((v) => v.bridge === x.bridge))) continue;
        hops.push({ dev: x.vif, role: 'vif', master: linkByName(s, x.vif)?.master, tag, checks: vifChecks6(x) } satisfies Hop);
      }
      paths.push({
        id, bridge: b.name, mode: b.mode, vid: n.vid, target: tg.target, source, origin: dev, originMac: origin.mac,
        primary: 'echo', family: 6, dfSize, hops, problems, index: firstIndex + paths.length,
      });
    }
  }
  return { paths, skipped };
};
