/** A frame a vif's guard dropped on purpose: guest isolation at work, not a mystery loss. */
import { trail, what, type Rule } from './evidence.js';

export const droppedByGuard: Rule = (inp, f) => {
  // dom0 probes: requests go toward the guest, replies come from it. A guest's own background
  // traffic (a trunk guest's untagged solicitations) counts on the other side and is not blamed.
  // A guest's answer that its vif's capture saw and dom0 did not was dropped after the capture point: by the vif's guard.
  const port = f.dir === 'reply' && f.after !== undefined && inp.hops.some((h) => h.hop.dev === f.after && h.hop.role === 'vif') ? f.after : f.hop;
  const side = inp.guardDrops?.[port]?.[f.dir === 'request' ? 'out' : 'in'] ?? {};
  const drops = Object.entries(side).filter(([, n]) => n > 0);
  if (drops.length === 0) return undefined;
  const total = drops.reduce((n, [, k]) => n + k, 0);
  return {
    rule: 'dropped-by-guard', hop: port,
    message: `${port}'s guard dropped ${total} frame(s) while the probes ran (${drops.map(([why, n]) => `${n} ${why}`).join('; ')}): ${what(inp, f)} was stopped by guest isolation, not lost`,
    evidence: [trail(inp, f), `nft list table bridge xenbridge: counters of in-${port} / out-${port}`],
    fix: `the frame is outside what ${port}'s xenstore bridge/vlan/mac/ip allow: change those keys (and re-attach the vif) if the guest should carry it`,
  };
};
