/**
 * Steps for vif guards (plan/guard.ts): each an nft transaction that `nft -f` applies atomically,
 * undone by putting back the guard the port had (or by taking the new one away).
 */
import type { VifGuard } from './guard.js';
import { step, type Step } from './steps.js';

/**
 * Guards a port, or replaces its guard `was` (then undone by putting `was` back). shared: the
 * table's hook chains are already in place (guard.ts guardCommands).
 */
export const addGuard = (g: VifGuard, was?: VifGuard, shared = false): Step => step({ kind: 'guard', guard: g, was, ...(shared ? { shared: true as const } : {}) });

export const delGuard = (g: VifGuard): Step => step({ kind: 'unguard', dev: g.dev, was: g });

/**
 * A guest's port flags: BPDU guard and root block always (a guest is never a bridge), and, given,
 * the group_fwd_mask: model/guard-table's GUARDED_PORT_FWD_MASK on a guarded port (its frames to the bridge-local groups
 * go through its guard), 0 on one whose guard went. The port's own; leaving the bridge clears them.
 */
export const guestPortFlags = (dev: string, mask?: number): Step =>
  step({ kind: 'line', tool: 'ip', line: `link set dev ${dev} type bridge_slave guard on root_block on${mask === undefined ? '' : ` group_fwd_mask 0x${mask.toString(16)}`}` }, []);
