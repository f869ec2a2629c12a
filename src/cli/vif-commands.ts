/** `xenbridge vif …` in the CLI's help; bin/xenbridge sends vif events straight to vif-main. */
import type { Command } from 'commander';
import type { Register } from './core-commands.js';
import { common } from './core-commands.js';

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
};
