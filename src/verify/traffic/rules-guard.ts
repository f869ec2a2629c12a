/** A frame a vif's guard dropped on purpose: guest isolation at work, not a mystery loss. */
import { trail, what, type Rule } from './evidence.js';

export const droppedByGuard: Rule = (inp, f) => {
  // dom0 probes: requests go toward the guest, replies come from it. A guest's own background
  // traffic (a trunk guest's untagged solicitations) counts on the other side and is not blamed.
  const side = inp.guardDrops?.[f.hop]?.[f.dir === 'request' ? 'out' : 'in'] ?? {};
  const drops = Object.entries(side).filter(([, n]) => n > 0);
  if (drops.length === 0) return undefined;
  const total = drops.reduce((n, [, k]) => n + k, 0);
  return {
    rule: 'dropped-by-guard', hop: f.hop,
    message: `${f.hop}'s guard dropped ${total} frame(s) while the probes ran (${drops.map(([why, n]) => `${n} ${why}`).join('; ')}): ${what(inp, f)} was stopped by guest isolation, not lost`,
    evidence: [trail(inp, f), `nft list table bridge xenbridge: counters of in-${f.hop} / out-${f.hop}`],
    fix: `the frame is outside what ${f.hop}'s xenstore bridge/vlan/mac/ip allow: change those keys (and re-attach the vif) if the guest should carry it`,
  };
};
