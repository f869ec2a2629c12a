/**
 * Steps for vif guards (plan/guard.ts): nft lines, each a whole transaction that `nft -f` applies
 * atomically, with the lines that undo it, in the shape of plan/steps.ts.
 */
import { guardCommands, unguardCommands, type VifGuard } from './guard.js';
import type { Line, Step } from './steps.js';

const nft = (commands: string[]): Line => ({ tool: 'nft', line: commands.join('; ') });

/** Guards a port, or replaces its guard `was` (then undone by putting `was` back). */
export const addGuard = (g: VifGuard, was?: VifGuard): Step => ({
  ...nft(guardCommands(g)),
  undo: [nft(was ? guardCommands(was) : unguardCommands(g.dev))],
});

export const delGuard = (g: VifGuard): Step => ({ ...nft(unguardCommands(g.dev)), undo: [nft(guardCommands(g))] });
