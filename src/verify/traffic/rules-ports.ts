/** Rules about one interface on the way: missing, down, held by STP, or without the VLAN. */
import { linkByName, type Link } from '../../state/types.js';
import { covers, entriesOf, entriesText, filteringPort, linkText, roleText, trail, what, windowLinks, type Rule, type RuleInput } from './evidence.js';
import type { Vanish } from './types.js';

export const hopMissing: Rule = (inp, f) => {
  if (linkByName(inp.state, f.hop)) return undefined;
  const role = inp.hops.find((h) => h.hop.dev === f.hop)?.hop.role;
  return {
    rule: 'hop-missing', hop: f.hop,
    message: `${f.hop} does not exist, so ${what(inp, f)} cannot pass it`,
    evidence: [trail(inp, f), ...inp.path.problems],
    fix: role === 'vif' ? `the guest's vif ${f.hop} is gone or named otherwise: check xl network-list` : 'create it: xenbridge apply -c FILE',
  };
};

const noCarrierFix = (inp: RuleInput, l: Link): string => {
  const role = inp.hops.find((h) => h.hop.dev === l.name)?.hop.role;
  if (role === 'uplink') return `the link partner of ${l.name} is down: check the cable and the switch port`;
  if (role === 'vif') return `the guest has not brought its interface up (or its backend is not connected): check xl network-list and the guest`;
  if (l.kind === 'vlan' && l.link) return `its lower device ${l.link} is down: ip link set dev ${l.link} up`;
  if (l.kind === 'veth' && l.link) return `its veth peer ${l.link} is down: ip link set dev ${l.link} up`;
  return `find why ${l.name} has no carrier (its lower device or peer)`;
};

export const portDown: Rule = (inp, f) => {
  const l = windowLinks(inp, f).find((x) => !x.up || !x.carrier);
  if (!l) return undefined;
  const state = l.up ? 'has no carrier' : 'is down';
  return {
    rule: 'port-down', hop: l.name,
    message: `${roleText(inp, l.name)} ${state}: ${what(inp, f)} stops ${l.name === f.hop ? `there${f.after ? ` after ${f.after}` : ''}` : `at ${l.name}`}`,
    evidence: [trail(inp, f), linkText(l)],
    fix: l.up ? noCarrierFix(inp, l) : `ip link set dev ${l.name} up`,
  };
};

const STP_HOLDING = new Set(['blocking', 'listening', 'learning']);

export const stpNotForwarding: Rule = (inp, f) => {
  const l = windowLinks(inp, f).find((x) => x.master !== undefined && x.portState !== undefined && STP_HOLDING.has(x.portState));
  if (!l || !l.master) return undefined;
  return {
    rule: 'stp-not-forwarding', hop: l.name,
    message: `${roleText(inp, l.name)} is in STP state ${l.portState}: ${l.master} forwards nothing through it, so ${what(inp, f)} stops there`,
    evidence: [trail(inp, f), linkText(l)],
    fix: 'if STP found a loop, remove the second path between these bridges; otherwise wait out the forward delay, or set stp: false in the file and apply',
  };
};

/** The VLAN frames of this path have inside a filtering bridge: the path's VID, or PVID 1 for the untagged network. */
const vidInside = (inp: RuleInput): number => inp.path.vid ?? 1;

const accessFix = (inp: RuleInput, dev: string, vid: number): string => {
  const hop = inp.hops.find((h) => h.hop.dev === dev)?.hop;
  return hop?.tag === null ? `bridge vlan add dev ${dev} vid ${vid} pvid untagged` : `bridge vlan add dev ${dev} vid ${vid}`;
};

const throughText = (l: Link, f: Vanish): string => (l.name === f.hop ? 'leaving through it' : 'coming in through it');

export const pvidMismatch: Rule = (inp, f) => {
  const vid = vidInside(inp);
  for (const l of windowLinks(inp, f).filter((x) => filteringPort(inp.state, x))) {
    const hop = inp.hops.find((h) => h.hop.dev === l.name)?.hop;
    if (!hop) continue;
    const es = entriesOf(inp.state, l.name);
    const pvid = es.find((e) => e.pvid);
    const entry = es.find((e) => covers(e, vid));
    let why: string | undefined;
    if (hop.tag === null && pvid && !covers(pvid, vid)) why = `its PVID is ${pvid.vid}: untagged frames from it join VLAN ${pvid.vid}, not VLAN ${vid}`;
    else if (entry && hop.tag === null && !entry.untagged) why = `it sends VLAN ${vid} tagged (its entry lacks "untagged"), but untagged is expected there`;
    else if (entry && hop.tag !== null && entry.untagged) why = `it sends VLAN ${vid} untagged, but tagged ${hop.tag} is expected there`;
    if (!why) continue;
    return {
      rule: 'pvid-mismatch', hop: l.name,
      message: `${roleText(inp, l.name)}: ${why}; ${what(inp, f)} is lost ${throughText(l, f)}`,
      evidence: [trail(inp, f), entriesText(inp.state, l.name)],
      fix: hop.tag === null ? `bridge vlan add dev ${l.name} vid ${vid} pvid untagged${pvid && !covers(pvid, vid) ? ` (and bridge vlan del dev ${l.name} vid ${pvid.vid} if it should not carry it)` : ''}` : `bridge vlan add dev ${l.name} vid ${vid}`,
    };
  }
  return undefined;
};

export const vidNotOnPort: Rule = (inp, f) => {
  const vid = vidInside(inp);
  for (const l of windowLinks(inp, f).filter((x) => filteringPort(inp.state, x))) {
    const es = entriesOf(inp.state, l.name);
    const missing = inp.path.vid === null ? !es.some((e) => e.pvid) : !es.some((e) => covers(e, vid));
    if (!missing) continue;
    const lacks = inp.path.vid === null ? 'has no PVID, so untagged frames' : `does not carry VLAN ${vid}, so VLAN ${vid} frames`;
    return {
      rule: 'vid-not-on-port', hop: l.name,
      message: `${roleText(inp, l.name)} ${lacks} are dropped by ${l.master} ${throughText(l, f)}: ${what(inp, f)} stops there`,
      evidence: [trail(inp, f), entriesText(inp.state, l.name)],
      fix: `${accessFix(inp, l.name, vid)} (trunk ports: xenbridge apply -c FILE; vif ports: the hook sets them from xenstore)`,
    };
  }
  return undefined;
};
