/** `xenbridge vif …` in the CLI's help (bin/xenbridge sends vif events straight to vif-main), the hook service, and guards put back. */
import type { Command } from 'commander';
import type { Register } from './core-commands.js';
import { common } from './core-commands.js';
import { contextFor, needRoot, type CommonOpts } from './context.js';
import { out } from './output.js';
import { isXbError, XbError } from '../errors.js';

export const registerVif = (reg: Register): void => {
  reg('vif', (c: Command) =>
    c.description('Xen vif hotplug: online|offline type_if=vif, add|remove type_if=tap (env: vif, XENBUS_PATH, INTERFACE)')
      .argument('[args...]')
      .allowUnknownOption()
      .helpOption(false), async (o) => (await import('./vif-main.js')).main((o.args as string[] | undefined) ?? []), { errorCode: 1 });
  reg('hookd', (c: Command) =>
    common(c.description('the vif hook service: hooks/vif-xenbridge hands it each event, attached in batches (run by xenbridge-hookd.service)'))
      .option('--queue <n>', 'events waiting at most; more are refused with a hotplug error', '256')
      .option('--batch <n>', 'events per transaction at most', '128')
      .option('--no-resident-nft', 'an nft process per guard batch instead of one resident nft -i'), async (o) => (await import('./hookd-main.js')).hookdAction(o));
  reg('repair-guards', (c: Command) =>
    common(c.description("put back every attached vif's guard its record names, and remove those whose vif is gone (run after nftables.service loads or flushes its ruleset); nothing else changes"), false), async (o) => {
    needRoot('repair-guards');
    const { repairGuards } = await import('../apply/guard-repair.js');
    const { notes, unreadable } = await repairGuards(contextFor(o as CommonOpts));
    if (notes.length > 0 || unreadable.length === 0) out(notes.length === 0 ? 'vif guards: every one in place' : notes.join('\n'));
    const [first, ...rest] = unreadable;
    if (first === undefined) return 0;
    if (!isXbError(first)) throw first;
    throw new XbError('state', `${first.message}: its vif's guard was not put back${rest.length > 0 ? `, nor ${rest.length} other(s)` : ''}`, {
      detail: [...rest.map((e) => (isXbError(e) ? e.message : String(e))), ...first.detail],
    });
  });
};
