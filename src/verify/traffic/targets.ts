/**
 * What to probe on a network when the file names nothing: a gateway of a route there, a neighbour
 * dom0 already talks to (its ARP/neighbour table), an address heard on the uplink, dom0's own
 * address, or, with none of those, an ARP request that only has to reach the uplink (a broadcast
 * the uplink must carry). Pure: the neighbour table and the heard addresses are read by callers.
 */
import type { BridgeSpec } from '../../model/topology.js';
import { linkByName, type HostState, type Link } from '../../state/types.js';

export interface Neighbour {
  dst: string;
  dev: string;
  state: string[];
}

/** Addresses heard on an uplink during a short listen: ARP senders per VLAN (null: untagged). */
export interface WireSample {
  dev: string;
  vids: number[];
  senders: { vid: number | null; address: string }[];
}

export interface Target {
  address: string;
  /** upstream: something beyond the uplink answers; dom0: dom0 itself; none: only the request can be checked. */
  answers: 'upstream' | 'dom0' | 'none';
  /** Where the address came from, for the report. */
  from: string;
}

/** Nothing known answers: any address does, as only the broadcast request is checked. */
export const NOBODY = '169.254.0.1';

const USABLE = new Set(['REACHABLE', 'STALE', 'DELAY', 'PROBE', 'PERMANENT', 'NOARP']);

/** `ip -j neigh show`: IPv4 neighbours that have answered (not FAILED / INCOMPLETE). */
export const parseNeighbours = (json: unknown): Neighbour[] =>
  (Array.isArray(json) ? json : []).flatMap((raw): Neighbour[] => {
    const n = raw as { dst?: unknown; dev?: unknown; state?: unknown };
    if (typeof n.dst !== 'string' || typeof n.dev !== 'string' || !/^\d+\.\d+\.\d+\.\d+$/.test(n.dst)) return [];
    const state = Array.isArray(n.state) ? n.state.filter((x): x is string => typeof x === 'string') : [];
    return state.some((x) => USABLE.has(x)) ? [{ dst: n.dst, dev: n.dev, state }] : [];
  });

/** dom0's interfaces on network `vid` of bridge b: where its address, routes and neighbours for it are. */
export const networkDevices = (s: HostState, b: BridgeSpec, vid: number | null): Link[] => {
  if (vid === null) return [b.dom0.ifname, b.name].flatMap((n) => linkByName(s, n) ?? []);
  const related = new Set([b.name, b.dom0.ifname, ...(b.uplinkPort ? [b.uplinkPort] : [])]);
  const devs = s.links.filter((l) => l.kind === 'vlan' && l.vlanId === vid && l.link !== undefined
    && (related.has(l.link) || linkByName(s, l.link)?.master === b.name || b.vlans.some((v) => v.id === vid && v.device === l.name)));
  const masters = devs.flatMap((l) => (l.master && l.master !== b.name ? linkByName(s, l.master) ?? [] : []));
  const spec = b.vlans.find((v) => v.id === vid);
  const named = spec?.bridge ? linkByName(s, spec.bridge) : undefined;
  return [...new Map([...devs, ...masters, ...(named ? [named] : [])].map((l) => [l.name, l])).values()];
};

const v4 = (l: Link): { local: string; prefixlen: number }[] => l.addrs.filter((a) => a.family === 4 && a.scope !== 'host');

/** The first answer in order of trust: the file, a route's gateway, a neighbour, the wire, dom0 itself. */
export const pickTarget = (s: HostState, neigh: Neighbour[], wire: WireSample[], b: BridgeSpec, vid: number | null): Target => {
  const file = vid === null ? b.dom0.gateway : b.vlans.find((v) => v.id === vid)?.probe ?? b.vlans.find((v) => v.id === vid)?.gateway;
  if (file) return { address: file, answers: 'upstream', from: 'the file' };
  const devs = networkDevices(s, b, vid);
  const names = new Set(devs.map((l) => l.name));
  const own = new Set(devs.flatMap((l) => v4(l).map((a) => a.local)));
  const route = s.routes.find((r) => r.family === 4 && r.gateway && r.dev && names.has(r.dev));
  if (route?.gateway) return { address: route.gateway, answers: 'upstream', from: `the route via ${route.gateway} dev ${route.dev}` };
  const n = neigh.find((x) => names.has(x.dev) && !own.has(x.dst));
  if (n) return { address: n.dst, answers: 'upstream', from: `dom0's neighbour table (${n.dev})` };
  const heard = wire.find((w) => w.dev === b.uplinkPort)?.senders.find((x) => x.vid === vid && !own.has(x.address) && x.address !== '0.0.0.0');
  if (heard) return { address: heard.address, answers: 'upstream', from: `ARP heard on ${b.uplinkPort}` };
  const mine = devs.flatMap(v4)[0];
  if (mine) return { address: mine.local, answers: 'dom0', from: "dom0's own address" };
  return { address: NOBODY, answers: 'none', from: 'nothing known answers: only the broadcast is checked' };
};

/** For dom0's own probes: a target beyond dom0, else the broadcast alone (dom0 cannot probe itself through the wire). */
export const upstreamTarget = (s: HostState, neigh: Neighbour[], wire: WireSample[]) => (b: BridgeSpec, vid: number | null): string => {
  const t = pickTarget(s, neigh, wire, b, vid);
  return t.answers === 'upstream' ? t.address : NOBODY;
};
