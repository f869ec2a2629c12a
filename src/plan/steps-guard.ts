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
