/** A frame a vif's guard dropped on purpose: guest isolation at work, not a mystery loss. */
import { DROP_REASON } from '../../plan/guard.js';
import { trail, what, type Rule } from './evidence.js';
import type { PathSpec, ProbeKind } from './types.js';

/**
 * Reasons that can never be this probe's frame: an IPv6 probe or answer is no ARP, IPv4 or router
 * advertisement (a guest's own RAs are dropped on the same side while the probes run), and an IPv4
 * probe is no IPv6.
 */
const unrelated = (p: PathSpec, probe: ProbeKind): Set<string> => new Set(p.family === 6
  ? [DROP_REASON.arpMac, DROP_REASON.arpIp, DROP_REASON.ip4, DROP_REASON.router]
  : [DROP_REASON.ip6, DROP_REASON.llOther, DROP_REASON.router, ...(probe === 'arp' ? [DROP_REASON.ip4] : [DROP_REASON.arpMac, DROP_REASON.arpIp])]);

export const droppedByGuard: Rule = (inp, f) => {
  // dom0 probes: requests go toward the guest, replies come from it. A guest's own background
  // traffic (a trunk guest's untagged solicitations) counts on the other side and is not blamed.
  // A guest's answer that its vif's capture saw and dom0 did not was dropped after the capture point: by the vif's guard.
  const port = f.dir === 'reply' && f.after !== undefined && inp.hops.some((h) => h.hop.dev === f.after && h.hop.role === 'vif') ? f.after : f.hop;
  const side = inp.guardDrops?.[port]?.[f.dir === 'request' ? 'out' : 'in'] ?? {};
  const skip = unrelated(inp.path, f.probe);
  const drops = Object.entries(side).filter(([why, n]) => n > 0 && !skip.has(why));
  if (drops.length === 0) return undefined;
  const total = drops.reduce((n, [, k]) => n + k, 0);
  return {
    rule: 'dropped-by-guard', hop: port,
    message: `${port}'s guard dropped ${total} frame(s) while the probes ran (${drops.map(([why, n]) => `${n} ${why}`).join('; ')}): ${what(inp, f)} was stopped by guest isolation, not lost`,
    evidence: [trail(inp, f), `nft list table bridge xenbridge: counters of in-${port} / out-${port}`],
    fix: `the frame is outside what ${port}'s xenstore bridge/vlan/mac/ip allow: change those keys (and re-attach the vif) if the guest should carry it`,
  };
};
