/** What the diagnosis rules read (pure data) and the evidence lines they quote. */
import { linkByName, type HostState, type Link, type VlanEntry } from '../../state/types.js';
import { coalesce } from './discover.js';
import { resultOf, tagText } from './observe.js';
import type { Diagnosis, HopResult, PathSpec, ProbeKind, ProbeRun, Tag, Vanish, VifExpectation } from './types.js';

export interface RuleInput {
  path: PathSpec;
  hops: HopResult[];
  probes: ProbeRun[];
  state: HostState;
  vifs: VifExpectation[];
  /** Frames each port's guard dropped while the probes ran, by reason (plan/guard.ts), from the guest and toward it. */
  guardDrops?: Record<string, { in: Record<string, number>; out: Record<string, number> }>;
}

/** A rule explains one failure, or returns undefined to let the next rule try. */
export type Rule = (inp: RuleInput, f: Vanish) => Diagnosis | undefined;

const NAMES6: Record<ProbeKind, string> = { arp: 'ARP', echo: 'ICMPv6 echo', df: '', nd: 'neighbour solicitation', mcast: 'all-nodes ICMPv6 echo' };

export const probeName = (p: PathSpec, probe: ProbeKind): string => {
  if (p.family === 6) return probe === 'df' ? `${p.dfSize ?? '?'}-byte unfragmented ICMPv6 echo` : NAMES6[probe];
  return probe === 'arp' ? 'ARP' : probe === 'echo' ? 'ICMP echo' : `${p.dfSize ?? '?'}-byte don't-fragment echo`;
};

export const what = (inp: RuleInput, f: Vanish): string => `the ${probeName(inp.path, f.probe)} ${f.dir}`;

const tagsText = (tags: Tag[]): string => tags.map(tagText).join(', ');

/** "ICMP echo request: seen at a (untagged), b (vlan 10); not at c" along the frames' direction. */
export const trail = (inp: RuleInput, f: Vanish): string => {
  const isVif = inp.hops.find((h) => h.hop.dev === f.hop)?.hop.role === 'vif';
  let order = isVif ? inp.hops.filter((h) => h.hop.dev === f.after || h.hop.dev === f.hop) : inp.hops.filter((h) => h.hop.role !== 'vif');
  if (f.dir === 'reply') order = [...order].reverse();
  const seen: string[] = [];
  const missed: string[] = [];
  for (const h of order) {
    const r = resultOf(h, f);
    if (!r) continue;
    if (r.seen.count > 0) seen.push(`${h.hop.dev} (${tagsText(r.seen.tags)})`);
    if (!r.ok) missed.push(r.why === 'no-capture' ? `${h.hop.dev} (no capture: ${h.captureError ?? '?'})` : r.why === 'wrong-tag' ? `${h.hop.dev} (expected ${tagText(r.expected)})` : h.hop.dev);
  }
  const name = `${probeName(inp.path, f.probe)} ${f.dir}`;
  return `${name}: ${seen.length > 0 ? `seen at ${seen.join(', ')}` : 'seen nowhere'}${missed.length > 0 ? `; not as expected at ${missed.join(', ')}` : ''}`;
};

/** The links where frames were last seen and first missed. */
export const windowLinks = (inp: RuleInput, f: Vanish): Link[] =>
  [f.hop, f.after].flatMap((d) => (d === undefined ? [] : linkByName(inp.state, d) ?? []));

export const roleText = (inp: RuleInput, dev: string): string => {
  const h = inp.hops.find((x) => x.hop.dev === dev)?.hop;
  if (!h) return dev;
  const of = h.master ? ` of ${h.master}` : '';
  const names: Record<string, string> = { dom0: "dom0's interface", 'vlan-device': "dom0's VLAN device", 'dom0-veth': "dom0's veth end", 'bridge-port': `port${of}`, uplink: `uplink port${of}`, vif: `guest port${of}`, probe: `probe port${of}, standing in for a guest` };
  return `${dev} (${names[h.role] ?? h.role})`;
};

export const linkText = (l: Link): string =>
  `ip link: ${l.name} ${l.up ? 'UP' : 'DOWN (admin)'}${l.carrier ? '' : ', NO-CARRIER'}, operstate ${l.operstate}, mtu ${l.mtu}${l.master ? `, master ${l.master}${l.portState ? ` (port state ${l.portState})` : ''}` : ''}`;

export const entriesOf = (s: HostState, dev: string): VlanEntry[] => s.vlans.filter((e) => e.dev === dev);

export const entriesText = (s: HostState, dev: string): string => {
  const es = coalesce(entriesOf(s, dev));
  const one = (e: VlanEntry): string => `${e.vid}${e.vidEnd ? `-${e.vidEnd}` : ''}${e.pvid ? ' PVID' : ''}${e.untagged ? ' untagged' : ''}`;
  return `bridge vlan show dev ${dev}: ${es.length === 0 ? 'no VLANs' : es.map(one).join(', ')}`;
};

export const covers = (e: VlanEntry, vid: number): boolean => vid >= e.vid && vid <= (e.vidEnd ?? e.vid);

/** The port is in a VLAN-filtering bridge (where per-port VLAN entries decide what passes). */
export const filteringPort = (s: HostState, l: Link): boolean => l.master !== undefined && linkByName(s, l.master)?.bridge?.vlanFiltering === true;
