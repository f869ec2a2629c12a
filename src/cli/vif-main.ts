/**
 * Entry for `xenbridge vif …`, the hook's hot path: bin/xenbridge comes here directly, so a vif
 * event loads the hook's modules only, not the whole CLI. Every error exits 1 (the hook contract).
 */
import { runVifHook } from '../xen/vif-hook.js';
import { configPath, contextFor } from './context.js';
import { ignoreClosedOutput, report, setDebug } from './output.js';

export const main = async (argv: string[]): Promise<number> => {
  setDebug(process.env.XENBRIDGE_DEBUG === '1');
  ignoreClosedOutput();
  // A throw from a callback or a rejection nobody awaited still ends as one line and exit 1.
  const last = (e: unknown): void => {
    report(e, false);
    process.exitCode = 1;
  };
  process.on('uncaughtException', last);
  process.on('unhandledRejection', last);
  try {
    const ctx = contextFor({ netns: process.env.XENBRIDGE_NETNS || undefined }, { netnsFrom: 'XENBRIDGE_NETNS' });
    await runVifHook({ argv, env: process.env, topologyFile: configPath({}), logFile: process.env.XENBRIDGE_HOTPLUG_LOG || undefined }, ctx);
    return 0;
  } catch (e) {
    report(e, false);
    return 1;
  }
};
