/**
 * Which NIC each `names:` rule means on this host. Only NIC-like links (a device, or a veth whose
 * peer is in another namespace) are candidates: a bridge or VLAN device that shares a NIC's MAC is
 * never renamed.
 */
import { XbError, type Problem } from '../errors.js';
import { XEN_PORT_MAC } from '../model/net.js';
import type { BridgeSpec, NameMatch, NameRule, Topology } from '../model/topology.js';
import { dom0Of, isNicLike, type HostState, type Link } from '../state/types.js';

export interface RuleMatch {
  rule: NameRule;
  /** Position in names[], for messages. */
  index: number;
  /** The name the NIC must end with (see targetName). */
  target: string;
  /** Set when exactly one NIC matched. */
  nic?: Link;
  /** Every NIC that matched: several means the rule is ambiguous. */
  candidates: Link[];
  problem?: string;
}

export const matchText = (m: NameMatch): string =>
  m.by === 'mac' ? `mac ${m.mac}` : m.by === 'pci' ? `pci ${m.pci}` : m.by === 'driver' ? `driver ${m.driver} index ${m.index}` : `ifname ${m.ifname}`;

export const nicText = (l: Link): string =>
  [l.name, l.permaddr ?? l.mac, l.pci ? `pci ${l.pci}` : '', l.driver ? `driver ${l.driver}` : ''].filter((x) => x !== '').join(' ');

/**
 * The rule's name, unless a bridge takes that name for dom0's interface (uplink: fe0 with the default
 * dom0.ifname): then the NIC ends as the bridge's uplink port (pfe0), as network-bridge named it.
 */
export const targetName = (rule: NameRule, bridges: BridgeSpec[]): string =>
  bridges.find((b) => b.uplink === rule.name)?.uplinkPort ?? rule.name;

/**
 * The MACs a NIC answers to. A NIC that xenbridge made a bridge port carries Xen's fe:ff:ff:ff:ff:ff
 * and its own MAC moved to dom0's interface; without a permanent address (veth) that is where it is.
 */
export const macsOf = (l: Link, s: HostState): string[] => {
  const moved = l.mac === XEN_PORT_MAC && l.master && !l.permaddr ? dom0Of(s, l.master)?.dom0.mac : undefined;
  return [l.mac, l.permaddr, moved].filter((m): m is string => m !== undefined);
};

const names = (ls: Link[]): string => ls.map((l) => l.name).join(', ');

/** PCI order; NICs without a PCI address sort last and tie with each other. */
const byPci = (a: Link, b: Link): number => (a.pci ?? '~').localeCompare(b.pci ?? '~');

const byDriver = (nics: Link[], driver: string, index: number): Pick<RuleMatch, 'candidates' | 'problem'> => {
  const all = nics.filter((l) => l.driver === driver).sort(byPci);
  const pick = all[index];
  if (!pick) {
    return { candidates: all, problem: all.length === 0 ? `no NIC uses driver ${driver}` : `index ${index} asks for NIC #${index + 1} of driver ${driver}, but there are ${all.length}: ${names(all)}` };
  }
  const tied = all.filter((l) => l.pci === pick.pci);
  if (tied.length > 1) return { candidates: tied, problem: `${names(tied)} share ${pick.pci ? `PCI address ${pick.pci}` : 'no PCI address'}, so PCI order cannot tell them apart` };
  return { candidates: [pick] };
};

export const matchRule = (rule: NameRule, index: number, s: HostState, target: string): RuleMatch => {
  const nics = s.links.filter(isNicLike);
  const m = rule.match;
  let found: Pick<RuleMatch, 'candidates' | 'problem'>;
  if (m.by === 'driver') found = byDriver(nics, m.driver, m.index);
  else {
    const fits = (l: Link): boolean => (m.by === 'mac' ? macsOf(l, s).includes(m.mac) : m.by === 'pci' ? l.pci === m.pci : l.name === m.ifname);
    let candidates = nics.filter(fits);
    // An ifname rule names the NIC before the rename; afterwards the NIC is found under its new name.
    if (m.by === 'ifname' && candidates.length === 0) candidates = nics.filter((l) => l.name === target);
    const what = m.by === 'mac' ? `MAC ${m.mac}` : m.by === 'pci' ? `PCI address ${m.pci}` : `the name ${m.ifname}`;
    const others = s.links.filter((l) => !isNicLike(l) && fits(l)).map((l) => `${l.name} is a ${l.kindName}`);
    const none = `no NIC has ${what}${others.length > 0 ? ` (${others.join(', ')}; only NICs are renamed)` : ''}`;
    const problem = candidates.length === 0 ? none : candidates.length > 1 ? `${candidates.length} NICs have ${what}: ${names(candidates)}` : undefined;
    found = { candidates, problem };
  }
  const nic = found.problem === undefined ? found.candidates[0] : undefined;
  return { rule, index, target, nic, ...found };
};

export const matchAll = (t: Topology, s: HostState): RuleMatch[] =>
  t.names.map((rule, i) => matchRule(rule, i, s, targetName(rule, t.bridges)));

/** Every rule matched to exactly one NIC, and no NIC claimed twice; otherwise one config error listing all. */
export const resolveNames = (t: Topology, s: HostState): RuleMatch[] => {
  const matches = matchAll(t, s);
  const problems: Problem[] = matches.flatMap((m) =>
    m.problem === undefined ? [] : [{ where: m.rule.where, message: `names[${m.index}] (${m.rule.name}, ${matchText(m.rule.match)}): ${m.problem}` }]);
  const owner = new Map<string, RuleMatch>();
  for (const m of matches) {
    if (!m.nic) continue;
    const prior = owner.get(m.nic.name);
    if (prior) problems.push({ where: m.rule.where, message: `names[${m.index}] (${m.rule.name}) and names[${prior.index}] (${prior.rule.name}) both match ${m.nic.name}` });
    else owner.set(m.nic.name, m);
  }
  if (problems.length > 0) {
    const nics = s.links.filter(isNicLike);
    const n = problems.length;
    throw new XbError('config', `${t.source}: each names rule must match exactly one NIC (${n} problem${n === 1 ? '' : 's'}); nothing was changed`, {
      problems,
      detail: nics.length === 0 ? ['NICs here: none'] : ['NICs here:', ...nics.map((l) => `  ${nicText(l)}`)],
    });
  }
  return matches;
};

/** Current link name -> the stable name of the rule that matches it, for rules that match exactly one NIC. */
export const stableNames = (t: Topology, s: HostState): Record<string, string> =>
  Object.fromEntries(matchAll(t, s).flatMap((m) => (m.nic ? [[m.nic.name, m.rule.name] as const] : [])));
