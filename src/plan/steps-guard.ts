/**
 * Steps for vif guards (plan/guard.ts): each an nft transaction that `nft -f` applies atomically,
 * undone by putting back the guard the port had (or by taking the new one away).
 */
import type { VifGuard } from './guard.js';
import { step, type Step } from './steps.js';

/** Guards a port, or replaces its guard `was` (then undone by putting `was` back). */
export const addGuard = (g: VifGuard, was?: VifGuard): Step => step({ kind: 'guard', guard: g, was });

export const delGuard = (g: VifGuard): Step => step({ kind: 'unguard', dev: g.dev, was: g });
