/**
 * Links an earlier apply made that the file no longer declares. apply leaves them in place: a guest
 * may still be attached to such a bridge, and taking a bridge's uplink back would undo a takeover.
 * verify names them, so that "state matches the file" is not said over a bridge the file dropped.
 */
import type { Step } from '../plan/steps.js';
import type { HostState } from '../state/types.js';
import type { Finding } from './lint.js';

/** The links the recorded steps made that still exist under the names they have now. */
export const madeLinks = (steps: Step[]): Set<string> => {
  const made = new Set<string>();
  for (const { op } of steps) {
    if (op.kind === 'addBridge' || op.kind === 'addVlan' || op.kind === 'addBond') made.add(op.dev);
    else if (op.kind === 'addVeth') {
      made.add(op.dev);
      // A peer made in another namespace is not a link of this one.
      if (op.peerNetns === undefined) made.add(op.peer);
    } else if (op.kind === 'rename' && made.delete(op.from)) made.add(op.to);
    else if (op.kind === 'delLink') made.delete(op.dev);
  }
  return made;
};

export const staleFindings = (history: Step[], declared: Set<string>, s: HostState): Finding[] => {
  const live = new Set(s.links.map((l) => l.name));
  return [...madeLinks(history)].filter((n) => live.has(n) && !declared.has(n)).sort().map((name) => ({
    level: 'warning',
    rule: 'left-by-earlier-apply',
    message: `${name} was made by an earlier apply and the file no longer declares it: apply leaves it in place`,
    fix: 'once nothing uses it, "xenbridge stop" then "xenbridge apply" rebuild the host from the file without it (stop undoes every change since the first apply)',
  }));
};
