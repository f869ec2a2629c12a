/**
 * The one place that talks to xenstore, through xenstore-list/-read/-write with argument vectors
 * (no shell ever sees a value) and a timeout on every call: xenstore-read blocks, rather than
 * failing, when no xenstored runs.
 */
import { XbError } from '../errors.js';
import type { Runner } from '../exec/runner.js';

export const VIF_KEYS = ['bridge', 'mtu', 'vifname', 'mac', 'ip', 'vlan'] as const;
export type VifKey = (typeof VIF_KEYS)[number];

/** Where xenstore-* run (the host's namespace) and how long each call may take. */
export interface Xenstore {
  runner: Runner;
  timeoutMs: number;
}

export const xenstoreOf = (ctx: { host: Runner; xenstoreTimeoutMs: number }): Xenstore => ({ runner: ctx.host, timeoutMs: ctx.xenstoreTimeoutMs });

const call = async (xs: Xenstore, cmd: string, args: string[]): Promise<string> => {
  const r = await xs.runner.run(cmd, args, { timeoutMs: xs.timeoutMs });
  if (r.timedOut) throw new XbError('xenstore', `${cmd} did not answer within ${xs.timeoutMs / 1000} s (is xenstored running?)`);
  if (r.exitCode !== 0) throw new XbError('xenstore', `${cmd} ${args[0] ?? ''} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return r.stdout;
};

/** Reads the vif's backend keys that exist: one list and one read, whatever the number of keys. */
export const readVifKeys = async (xs: Xenstore, base: string): Promise<Partial<Record<VifKey, string>>> => {
  const present = new Set((await call(xs, 'xenstore-list', [base])).split('\n').map((l) => l.trim()));
  const keys = VIF_KEYS.filter((k) => present.has(k));
  if (keys.length === 0) return {};
  const values = (await call(xs, 'xenstore-read', keys.map((k) => `${base}/${k}`))).replace(/\n$/, '').split('\n');
  if (values.length !== keys.length) throw new XbError('xenstore', `xenstore-read returned ${values.length} values for ${keys.length} keys under ${base} (a value with a newline?)`);
  return Object.fromEntries(keys.map((k, i) => [k, values[i] ?? '']));
};

/**
 * The guest's frontend MTU, as Xen's set_mtu writes it: netfront reads it when it connects. Its
 * path comes from the validated backend path's numbers, never from a value in xenstore.
 */
export const frontendMtu = (domid: number, devid: number, mtu: number): [string, string] =>
  [`/local/domain/${domid}/device/vif/${devid}/mtu`, String(mtu)];

/** `before` is written first, in the same call: connected is the last thing the backend sees. */
export const writeStatus = async (xs: Xenstore, base: string, status: 'connected' | { error: string }, before: [string, string][] = []): Promise<void> => {
  const args = status === 'connected'
    ? [...before.flat(), `${base}/hotplug-status`, 'connected']
    : [`${base}/hotplug-error`, status.error, `${base}/hotplug-status`, 'error'];
  await call(xs, 'xenstore-write', args);
};

/** Many vifs' `connected` in one xenstore-write: each vif's own keys in order, its status last. */
export const writeConnected = async (xs: Xenstore, vifs: { base: string; before: [string, string][] }[]): Promise<void> => {
  if (vifs.length === 0) return;
  await call(xs, 'xenstore-write', vifs.flatMap((v) => [...v.before.flat(), `${v.base}/hotplug-status`, 'connected']));
};
