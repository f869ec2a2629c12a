/**
 * Orders renames so that no step asks for a name still in use: chains run from their free end, and
 * cycles (eth0<->eth1) are broken by parking one NIC under a temporary name.
 */
import { XbError } from '../errors.js';

export interface Move {
  from: string;
  to: string;
}

export const TEMP_PREFIX = 'xb-swap';

const freeTemp = (taken: Set<string>): string => {
  for (let k = 0; ; k++) if (!taken.has(`${TEMP_PREFIX}${k}`)) return `${TEMP_PREFIX}${k}`;
};

/**
 * `taken` holds every name in use now. Targets held by links that do not move are the caller's
 * error to report; here every blocked target is held by another move, so a cycle exists.
 */
export const orderRenames = (moves: Move[], taken: Set<string>): Move[] => {
  const inUse = new Set(taken);
  const pending = moves.map((m) => ({ ...m }));
  const out: Move[] = [];
  const apply = (m: Move): void => {
    out.push(m);
    inUse.delete(m.from);
    inUse.add(m.to);
  };
  while (pending.length > 0) {
    const free = pending.findIndex((m) => !inUse.has(m.to));
    if (free >= 0) {
      apply(pending.splice(free, 1)[0]!);
      continue;
    }
    if (!pending.every((m) => pending.some((o) => o.from === m.to))) throw new XbError('bug', `renames blocked by a link that does not move: ${pending.map((m) => `${m.from}->${m.to}`).join(', ')}`);
    // Targets are distinct, so when every target is held by another move the moves form cycles only.
    const park = pending[0]!;
    const temp = freeTemp(inUse);
    apply({ from: park.from, to: temp });
    park.from = temp;
  }
  return out;
};
