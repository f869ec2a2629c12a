/** `xenbridge hookd`: runs the vif hook service in the foreground until SIGTERM or SIGINT (systemd's stop). */
import { XbError } from '../errors.js';
import { startHookd, type Hookd } from '../xen/hookd.js';
import { configPath, contextFor, needRoot, type CommonOpts } from './context.js';
import { ignoreClosedOutput } from './output.js';

const count = (raw: unknown, flag: string, max: number): number => {
  const n = Number(raw);
  if (!/^\d+$/.test(String(raw)) || n < 1 || n > max) throw new XbError('usage', `${flag} must be a whole number from 1 to ${max}, got "${String(raw)}"`);
  return n;
};

export const hookdAction = async (o: Record<string, unknown>): Promise<number> => {
  needRoot('hookd');
  // Its library logs through process.stderr, for as long as it runs.
  ignoreClosedOutput();
  const opts = o as CommonOpts;
  // The hook finds the service by the namespace it is told, as `xenbridge vif` does.
  const ctx = contextFor({ ...opts, netns: opts.netns ?? (process.env.XENBRIDGE_NETNS || undefined) }, { netnsFrom: opts.netns ? '--netns' : 'XENBRIDGE_NETNS', residentNft: o.residentNft !== false });
  let h: Hookd | undefined;
  // A stop asked for while the service starts (systemd stopping it at once) is kept until it serves.
  let asked = false;
  const stop = (): void => {
    asked = true;
    h?.stop();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await startHookd({
    ctx, topologyFile: configPath(opts),
    logFile: process.env.XENBRIDGE_HOTPLUG_LOG || undefined,
    queueMax: count(o.queue ?? 256, '--queue', 4096), batchMax: count(o.batch ?? 128, '--batch', 1024),
    say: (l) => process.stderr.write(`${l}\n`),
  }, (started) => {
    h = started;
    if (asked) started.stop();
  });
  return 0;
};
