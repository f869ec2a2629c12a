/**
 * The one place that talks to xenstore: over xenstored's socket when it listens in dom0 (no
 * process per call, see xenstore-wire.ts), otherwise through xenstore-list/-read/-write with
 * argument vectors (no shell ever sees a value). Every call has a timeout: xenstore-read blocks,
 * rather than failing, when no xenstored runs.
 */
import { XbError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import { directoryRequest, exchange, NoSocket, readRequest, writeRequest, XENSTORED_SOCKET, type WireAnswer, type WireRequest } from './xenstore-wire.js';

export const VIF_KEYS = ['bridge', 'mtu', 'vifname', 'mac', 'ip', 'vlan'] as const;
export type VifKey = (typeof VIF_KEYS)[number];

/** Where xenstore-* run (the host's namespace) and how long each call may take. */
export interface Xenstore {
  runner: Runner;
  timeoutMs: number;
  /** xenstored's socket, tried first; the tools run when nothing listens there. */
  socket?: string;
}

export const xenstoreOf = (ctx: { host: Runner; xenstoreTimeoutMs: number }): Xenstore => ({ runner: ctx.host, timeoutMs: ctx.xenstoreTimeoutMs, socket: XENSTORED_SOCKET });

/** The answers over the socket, or undefined when there is none to use (then the tools run). */
const overSocket = async (xs: Xenstore, reqs: WireRequest[]): Promise<WireAnswer[] | undefined> => {
  if (xs.socket === undefined) return undefined;
  try {
    return await exchange(xs.socket, reqs, xs.timeoutMs);
  } catch (e) {
    if (e instanceof NoSocket) return undefined;
    throw new XbError('xenstore', `${(e as Error).message} (is xenstored running?)`);
  }
};

const refused = (what: string, a: WireAnswer | undefined): XbError =>
  new XbError('xenstore', `${what} failed: ${a && !a.ok ? a.errno : 'no answer'}`);

const call = async (xs: Xenstore, cmd: string, args: string[]): Promise<string> => {
  const r = await xs.runner.run(cmd, args, { timeoutMs: xs.timeoutMs });
  if (r.timedOut) throw new XbError('xenstore', `${cmd} did not answer within ${xs.timeoutMs / 1000} s (is xenstored running?)`);
  if (r.exitCode !== 0) throw new XbError('xenstore', `${cmd} ${args[0] ?? ''} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return r.stdout;
};

/** Reads the vif's backend keys that exist: one list and one read, whatever the number of keys. */
export const readVifKeys = async (xs: Xenstore, base: string): Promise<Partial<Record<VifKey, string>>> => {
  const wire = await overSocket(xs, [directoryRequest(base), ...VIF_KEYS.map((k) => readRequest(`${base}/${k}`))]);
  if (wire) {
    if (!wire[0]?.ok) throw refused(`reading ${base}`, wire[0]);
    const out: Partial<Record<VifKey, string>> = {};
    for (const [i, k] of VIF_KEYS.entries()) {
      const a = wire[i + 1];
      if (a?.ok) out[k] = a.payload.toString('utf8');
      else if (a?.errno !== 'ENOENT') throw refused(`reading ${base}/${k}`, a);
    }
    // The tools' answers are lines: a value with a newline is refused on both paths alike.
    const bad = Object.entries(out).find(([, v]) => v.includes('\n'));
    if (bad) throw new XbError('xenstore', `${base}/${bad[0]} holds a newline`);
    return out;
  }
  const present = new Set((await call(xs, 'xenstore-list', [base])).split('\n').map((l) => l.trim()));
  const keys = VIF_KEYS.filter((k) => present.has(k));
  if (keys.length === 0) return {};
  const values = (await call(xs, 'xenstore-read', keys.map((k) => `${base}/${k}`))).replace(/\n$/, '').split('\n');
  if (values.length !== keys.length) throw new XbError('xenstore', `xenstore-read returned ${values.length} values for ${keys.length} keys under ${base} (a value with a newline?)`);
  return Object.fromEntries(keys.map((k, i) => [k, values[i] ?? '']));
};

/**
 * Many vifs' keys: over the socket one connection each, as readVifKeys; through the tools one
 * `xenstore-list -p` and one `xenstore-read` for them all, so a boot storm costs two processes, not
 * two per vif. When the joint list or read fails (a guest gone meanwhile), each vif is read alone,
 * so only the vif at fault gets the error.
 */
export const readVifKeysMany = async (xs: Xenstore, bases: string[]): Promise<Map<string, Partial<Record<VifKey, string>> | XbError>> => {
  const uniq = [...new Set(bases)];
  const out = new Map<string, Partial<Record<VifKey, string>> | XbError>();
  const alone = async (list: string[]): Promise<void> => {
    await Promise.all(list.map(async (b) => {
      try {
        out.set(b, await readVifKeys(xs, b));
      } catch (e) {
        if (!(e instanceof XbError)) throw e;
        out.set(b, e);
      }
    }));
  };
  if (uniq.length < 2 || (xs.socket !== undefined && (await overSocket(xs, [])) !== undefined)) {
    await alone(uniq);
    return out;
  }
  const listed = await xs.runner.run('xenstore-list', ['-p', ...uniq], { timeoutMs: xs.timeoutMs });
  if (listed.timedOut || listed.exitCode !== 0) {
    await alone(uniq);
    return out;
  }
  const wanted = new Set<string>(VIF_KEYS);
  const present = listed.stdout.split('\n').filter((l) => wanted.has(l.slice(l.lastIndexOf('/') + 1)) && uniq.includes(l.slice(0, l.lastIndexOf('/'))));
  const read = present.length === 0 ? { timedOut: false, exitCode: 0, stdout: '' } : await xs.runner.run('xenstore-read', present, { timeoutMs: xs.timeoutMs });
  const values = read.stdout.replace(/\n$/, '').split('\n');
  if (read.timedOut || read.exitCode !== 0 || values.length !== present.length) {
    await alone(uniq);
    return out;
  }
  for (const b of uniq) out.set(b, {});
  present.forEach((path, i) => {
    const keys = out.get(path.slice(0, path.lastIndexOf('/'))) as Partial<Record<VifKey, string>>;
    keys[path.slice(path.lastIndexOf('/') + 1) as VifKey] = values[i] ?? '';
  });
  return out;
};

/**
 * The guest's frontend MTU, as Xen's set_mtu writes it: netfront reads it when it connects. Its
 * path comes from the validated backend path's numbers, never from a value in xenstore.
 */
export const frontendMtu = (domid: number, devid: number, mtu: number): [string, string] =>
  [`/local/domain/${domid}/device/vif/${devid}/mtu`, String(mtu)];

/** `before` is written first, in the same call: connected is the last thing the backend sees. */
export const writeStatus = async (xs: Xenstore, base: string, status: 'connected' | { error: string }, before: [string, string][] = []): Promise<void> => {
  await writePairs(xs, status === 'connected'
    ? [...before, [`${base}/hotplug-status`, 'connected']]
    : [[`${base}/hotplug-error`, status.error], [`${base}/hotplug-status`, 'error']]);
};

/** Writes in order, over the socket or in one xenstore-write. */
const writePairs = async (xs: Xenstore, pairs: [string, string][]): Promise<void> => {
  const wire = await overSocket(xs, pairs.map(([p, v]) => writeRequest(p, v)));
  if (!wire) return void (await call(xs, 'xenstore-write', pairs.flat()));
  const i = wire.findIndex((a) => !a.ok);
  if (i >= 0 || wire.length !== pairs.length) throw refused(`writing ${pairs[Math.max(i, 0)]?.[0] ?? ''}`, wire[i]);
};

/** Many vifs' `connected` in one xenstore-write: each vif's own keys in order, its status last. */
export const writeConnected = async (xs: Xenstore, vifs: { base: string; before: [string, string][] }[]): Promise<void> => {
  if (vifs.length === 0) return;
  await writePairs(xs, vifs.flatMap((v) => [...v.before, [`${v.base}/hotplug-status`, 'connected'] as [string, string]]));
};
