/** `xenbridge vif online|offline|add|remove …`: the vif hook's code path (hooks/vif-xenbridge execs it). */
import type { Command } from 'commander';
import { runVifHook } from '../xen/vif-hook.js';
import { configPath } from './context.js';
import type { Register } from './core-commands.js';

export const registerVif = (reg: Register): void => {
  reg('vif', (c: Command) =>
    c.description('Xen vif hotplug: online|offline type_if=vif, add|remove type_if=tap (env: vif, XENBUS_PATH, INTERFACE)')
      .argument('[args...]')
      .allowUnknownOption()
      .helpOption(false), async (o) => {
    await runVifHook({
      argv: (o.args as string[] | undefined) ?? [],
      env: process.env,
      topologyFile: configPath({}),
      netns: process.env.XENBRIDGE_NETNS || undefined,
    });
    return 0;
  }, { errorCode: 1 });
};
