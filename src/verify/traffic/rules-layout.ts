/** Rules about the layout and the world beyond the uplink: stolen VIDs, guests on the wrong VLAN, MTU, the switch. */
import { linkByName, type Link } from '../../state/types.js';
import { resultOf, tagText } from './observe.js';
import { entriesText, linkText, roleText, trail, what, windowLinks, type Rule, type RuleInput } from './evidence.js';
import type { VifExpectation } from './types.js';

const vlanOfBridge = (inp: RuleInput, bridge: string | undefined): string => {
  const b = linkByName(inp.state, bridge ?? '');
  const vlanPort = bridge ? inp.state.links.find((l) => l.master === bridge && l.kind === 'vlan') : undefined;
  if (vlanPort?.vlanId !== undefined) return ` (VLAN ${vlanPort.vlanId})`;
  return b?.bridge?.vlanFiltering ? '' : b ? ' (the trunk)' : '';
};

const carriesText = (carries: VifExpectation['carries']): string =>
  carries.map((c) => (c.vid === null ? 'untagged network' : `VLAN ${c.vid} ${c.tag === null ? 'untagged' : 'tagged'}`)).join(', ') || 'nothing';

/** A vif whose attachment differs from what its bridge= value asks for (xenstore, or the caller's). */
export const vifWrongBridge: Rule = (inp, f) => {
  const x = inp.vifs.find((v) => v.vif === f.hop);
  const vif = linkByName(inp.state, f.hop);
  if (!x || x.source === 'live' || !x.bridge || !vif) return undefined;
  const asked = `its ${x.source === 'xenstore' ? 'xenstore ' : ''}bridge=${x.request ?? '?'}`;
  if (vif.master !== x.bridge) {
    return {
      rule: 'vif-wrong-bridge', hop: f.hop,
      message: `${f.hop} is ${vif.master ? `a port of ${vif.master}${vlanOfBridge(inp, vif.master)}` : 'not a port of any bridge'}, but ${asked} asks for ${x.bridge}${vlanOfBridge(inp, x.bridge)}: ${what(inp, f)} cannot reach it`,
      evidence: [trail(inp, f), linkText(vif)],
      fix: `attach it where ${x.source === 'xenstore' ? 'xenstore' : 'bridge='} says: xl network-detach and network-attach the guest's vif (the hook does the rest), or now: ip link set dev ${f.hop} master ${x.bridge}`,
    };
  }
  // Same bridge: in classic mode that is all there is to compare; in filtering mode the VLAN entries too.
  if (linkByName(inp.state, x.bridge)?.bridge?.vlanFiltering !== true) return undefined;
  const liveCarries = carriesOfLive(inp, f.hop);
  const want = x.carries.find((c) => c.vid === inp.path.vid);
  if (!want || liveCarries.some((c) => c.vid === want.vid && c.tag === want.tag)) return undefined;
  return {
    rule: 'vif-wrong-bridge', hop: f.hop,
    message: `${f.hop} carries ${carriesText(liveCarries)}, but ${asked} asks for ${carriesText(x.carries)}: ${what(inp, f)} cannot reach it`,
    evidence: [trail(inp, f), entriesText(inp.state, f.hop)],
    fix: `re-attach the vif (xl network-detach / network-attach) so the hook sets its VLANs from xenstore, or now: bridge vlan add dev ${f.hop} vid ${want.vid ?? 1}${want.tag === null ? ' pvid untagged' : ''}`,
  };
};

/** In a filtering bridge, a port's networks as its live entries make them (vid null: PVID 1, the untagged network). */
const carriesOfLive = (inp: RuleInput, dev: string): VifExpectation['carries'] =>
  inp.state.vlans.filter((e) => e.dev === dev).flatMap((e) => {
    const out: VifExpectation['carries'] = [];
    for (let v = e.vid; v <= (e.vidEnd ?? e.vid) && v <= e.vid + 4094; v++) out.push({ vid: v === 1 && e.pvid ? null : v, tag: e.untagged ? null : v });
    return out;
  });

/** VLAN devices with this VID whose lower device is a bridge port (the seed's peth0.10 in xenbr0). */
const stealers = (inp: RuleInput, vid: number): { dev: Link; lower: Link; bridge: string }[] =>
  inp.state.links.flatMap((l) => {
    const lower = l.kind === 'vlan' && l.vlanId === vid && l.link ? linkByName(inp.state, l.link) : undefined;
    return lower?.master ? [{ dev: l, lower, bridge: lower.master }] : [];
  });

export const vlanDeviceSteals: Rule = (inp, f) => {
  if (inp.path.vid === null) return undefined;
  const hopMaster = linkByName(inp.state, f.hop)?.master;
  const s = stealers(inp, inp.path.vid).find((x) => x.bridge === hopMaster || x.lower.name === f.hop || x.lower.name === f.after);
  if (!s) return undefined;
  const vid = inp.path.vid;
  return {
    rule: 'vlan-device-steals-vid', hop: f.hop,
    message: `${s.dev.name} (VLAN ${vid}) sits on ${s.lower.name}, a port of ${s.bridge}: the kernel hands VLAN ${vid} frames to ${s.dev.name} before ${s.bridge} sees them, so ${roleText(inp, f.hop)} never gets VLAN ${vid}`,
    evidence: [trail(inp, f), `${s.dev.name}: VLAN ${vid} on ${s.lower.name}; ${s.lower.name} is a port of ${s.bridge}`],
    fix: `delete ${s.dev.name} (ip link del ${s.dev.name}) and let xenbridge put VLAN ${vid} on dom0's side of the bridge: classic mode makes a VLAN device on dom0's veth end in a per-VLAN bridge, filtering mode a VLAN-aware bridge (xenbridge apply -c FILE)`,
  };
};

/**
 * Linux answers ARP for any of its addresses on every interface (arp_ignore 0), so an up bridge
 * without addresses of its own answers for dom0's: the neighbour then sends dom0's replies to the
 * bridge's MAC, and they reach dom0 through the bridge device instead of its veth.
 */
export const replyToOtherMac: Rule = (inp, f) => {
  // ARP answered by another interface; IPv6's neighbour discovery answers only for the receiving interface's addresses.
  if (f.dir !== 'reply' || f.after === undefined || f.probe === 'arp' || inp.path.family === 6 || inp.path.originMac === undefined) return undefined;
  const after = inp.hops.find((h) => h.hop.dev === f.after);
  const at = after && resultOf(after, { probe: f.probe, dir: 'reply' });
  const mac = at?.seen.dst.find((m) => m !== inp.path.originMac);
  if (!mac) return undefined;
  const owner = inp.state.links.find((l) => l.mac === mac && l.name !== inp.path.origin);
  const source = inp.path.source ?? '';
  return {
    rule: 'reply-to-other-mac', hop: f.hop,
    message: owner
      ? `replies come back addressed to ${mac}, the MAC of ${owner.name}, not ${inp.path.origin}'s ${inp.path.originMac}: ${owner.name} answered ARP for ${source} (Linux answers ARP for its addresses on every interface), so ${owner.name} gets dom0's replies and ${inp.path.origin} does not`
      : `replies come back addressed to ${mac}, not ${inp.path.origin}'s ${inp.path.originMac}: the neighbour's ARP entry for ${source} is wrong`,
    evidence: [trail(inp, f), `${f.after}: ${what(inp, f)} to ${at?.seen.dst.join(', ') ?? '?'}`],
    fix: owner
      ? `sysctl -w net.ipv4.conf.${owner.name}.arp_ignore=1 (answer ARP only for the receiving interface's own addresses), then let the neighbour re-learn ${source} (ip neigh flush to ${source} there)`
      : `flush the neighbour's ARP entry for ${source} and look for another host answering ARP for it`,
  };
};

export const mtuTooSmall: Rule = (inp, f) => {
  const size = inp.path.dfSize;
  if (f.probe !== 'df' || size === undefined) return undefined;
  // ping says "mtu=1400" for IPv4 and "mtu: 1400" for IPv6.
  const local = inp.probes.find((p) => p.probe === 'df')?.message?.match(/mtu(?:=|: )(\d+)/);
  const chain = inp.hops.filter((h) => h.hop.role !== 'vif').flatMap((h) => linkByName(inp.state, h.hop.dev) ?? []);
  const small = [...windowLinks(inp, f), ...chain].find((l) => l.mtu < size);
  if (small || local) {
    const l = small ?? chain.find((x) => x.mtu === Number(local?.[1]));
    const where = l ? roleText(inp, l.name) : inp.path.origin;
    return {
      rule: 'mtu', hop: l?.name ?? f.hop,
      message: `${where} has MTU ${l?.mtu ?? local?.[1]}, smaller than the path's ${size}: ${what(inp, f)} ${local && !small ? 'could not even be sent' : `is dropped at ${l?.name ?? f.hop}`} while the small echo passes`,
      evidence: [trail(inp, f), ...(l ? [linkText(l)] : []), ...(local ? [`ping: ${inp.probes.find((p) => p.probe === 'df')?.message ?? ''}`] : [])],
      fix: `ip link set dev ${l?.name ?? inp.path.origin} mtu ${size} (or put the MTU the network really carries in the file's mtu: and apply)`,
    };
  }
  if (f.dir !== 'reply' || f.after !== undefined) return undefined;
  return {
    rule: 'mtu', hop: f.hop,
    message: `${what(inp, f)} never came back although every interface here has MTU ${size} or more: the upstream network does not carry ${size}-byte packets${inp.path.vid === null ? '' : ` on VLAN ${inp.path.vid}`}`,
    evidence: [trail(inp, f)],
    fix: `raise the MTU of the switch port (and the path to ${inp.path.target}) to ${size}, or set mtu: to what the network carries and apply`,
  };
};

export const upstreamNotTrunking: Rule = (inp, f) => {
  const uplink = inp.hops.find((h) => h.hop.dev === f.hop && h.hop.role === 'uplink');
  if (!uplink || f.dir !== 'reply' || f.after !== undefined || f.probe === 'df') return undefined;
  const req = resultOf(uplink, { probe: f.probe, dir: 'request' });
  if (!req?.ok) return undefined;
  const vid = inp.path.vid;
  const left = `${what(inp, { ...f, dir: 'request' })} left ${f.hop} ${tagText(uplink.hop.tag)} but no reply came back`;
  return {
    rule: 'upstream-not-trunking', hop: f.hop,
    message: vid === null
      ? `${left}: the upstream switch port's untagged (native) VLAN is not the network of ${inp.path.target}, or ${inp.path.target} is down`
      : `${left}: the upstream switch port does not carry VLAN ${vid}, or nothing answers ${inp.path.target} on it`,
    evidence: [trail(inp, { ...f, dir: 'request' }), trail(inp, f), ...(linkByName(inp.state, f.hop) ? [linkText(linkByName(inp.state, f.hop) as Link)] : [])],
    fix: vid === null
      ? `set the switch port's native VLAN to the network of ${inp.path.target}, and check that ${inp.path.target} is up`
      : `allow VLAN ${vid} tagged on the switch port (e.g. "switchport trunk allowed vlan add ${vid}"; on a Linux peer a VLAN ${vid} device on its port), and check that ${inp.path.target} is up on VLAN ${vid}`,
  };
};

export const probeNotSent: Rule = (inp, f) => {
  if (f.dir !== 'request' || f.after !== undefined || f.hop !== inp.path.origin) return undefined;
  const run = inp.probes.find((p) => p.probe === f.probe);
  const tool = f.probe === 'arp' ? 'arping' : 'ping';
  return {
    rule: 'probe-not-sent', hop: f.hop,
    message: `${what(inp, f)} never left ${inp.path.origin}${run?.message ? `: ${run.message}` : ''}`,
    evidence: [trail(inp, f), ...(run ? [`${run.argv.join(' ')}: exit ${run.exitCode}`] : [])],
    fix: run?.message?.includes('not installed')
      ? `install ${tool} (Debian: apt-get install ${f.probe === 'arp' ? 'iputils-arping' : 'iputils-ping'})`
      : `check dom0's address and route on ${inp.path.origin}: ip -${inp.path.family ?? 4} addr show dev ${inp.path.origin}; ip route get ${inp.path.target}`,
  };
};

export const vanishedUnexplained: Rule = (inp, f) => ({
  rule: 'vanished', hop: f.hop,
  message: f.why === 'wrong-tag'
    ? `${roleText(inp, f.hop)} saw ${what(inp, f)} ${f.seenTags.map(tagText).join(', ')} instead of ${tagText(inp.hops.find((h) => h.hop.dev === f.hop)?.hop.tag ?? null)}`
    : `${what(inp, f)} ${f.after ? `passed ${f.after} but` : ''} never reached ${roleText(inp, f.hop)}`.replace('  ', ' '),
  evidence: [trail(inp, f), ...windowLinks(inp, f).map(linkText)],
  fix: `look for what drops it between ${f.after ?? 'its sender'} and ${f.hop}: nft list ruleset (bridge family), tc filter show dev ${f.hop} ingress, bridge -d link show, bridge fdb show, bridge vlan show`,
});
