/**
 * Entry for `xenbridge vif …`, the hook's hot path: bin/xenbridge comes here directly, so a vif
 * event loads the hook's modules only, not the whole CLI. Every error exits 1 (the hook contract).
 */
import { runVifHook } from '../xen/vif-hook.js';
import { configPath } from './context.js';
import { report } from './output.js';

export const main = async (argv: string[]): Promise<number> => {
  try {
    await runVifHook({
      argv, env: process.env, topologyFile: configPath({}), netns: process.env.XENBRIDGE_NETNS || undefined, logFile: process.env.XENBRIDGE_HOTPLUG_LOG || undefined,
    });
    return 0;
  } catch (e) {
    report(e, false);
    return 1;
  }
};
