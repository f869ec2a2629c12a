/**
 * The one place that talks to xenstore: over xenstored's socket when it listens in dom0 (no
 * process per call, see xenstore-wire.ts), otherwise through xenstore-list/-read/-write with
 * argument vectors (no shell ever sees a value). Every call has a timeout: xenstore-read blocks,
 * rather than failing, when no xenstored runs.
 */
import { XbError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import { fromToolValue, toToolValue } from './xenstore-tools.js';
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

/** A tool's errors that were its timeout: a second try would wait as long again. */
const timeouts = new WeakSet<XbError>();

const call = async (xs: Xenstore, cmd: string, args: string[]): Promise<string> => {
  const r = await xs.runner.run(cmd, args, { timeoutMs: xs.timeoutMs });
  if (r.timedOut) {
    const e = new XbError('xenstore', `${cmd} did not answer within ${xs.timeoutMs / 1000} s (is xenstored running?)`);
    timeouts.add(e);
    throw e;
  }
  if (r.exitCode !== 0) throw new XbError('xenstore', `${cmd} ${args[0] ?? ''} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return r.stdout;
};

/** The keys in VIF_KEYS order; a value with a newline is refused on both paths alike (read as two lines elsewhere). */
const keysOf = (base: string, values: Map<string, string>): Partial<Record<VifKey, string>> => {
  const out: Partial<Record<VifKey, string>> = {};
  for (const k of VIF_KEYS) {
    const v = values.get(k);
    if (v === undefined) continue;
    if (v.includes('\n')) throw new XbError('xenstore', `${base}/${k} holds a newline`);
    out[k] = v;
  }
  return out;
};

/** xenstore-read's values for these paths, decoded: the tool escapes each onto one line. */
const readTool = async (xs: Xenstore, paths: string[]): Promise<string[]> => {
  if (paths.length === 0) return [];
  const values = (await call(xs, 'xenstore-read', paths)).replace(/\n$/, '').split('\n');
  if (values.length !== paths.length) throw new XbError('xenstore', `xenstore-read returned ${values.length} values for ${paths.length} keys`);
  return values.map(fromToolValue);
};

/** Reads the vif's backend keys that exist: one list and one read, whatever the number of keys. */
export const readVifKeys = async (xs: Xenstore, base: string): Promise<Partial<Record<VifKey, string>>> => {
  const wire = await overSocket(xs, [directoryRequest(base), ...VIF_KEYS.map((k) => readRequest(`${base}/${k}`))]);
  if (wire) {
    if (!wire[0]?.ok) throw refused(`reading ${base}`, wire[0]);
    const values = new Map<string, string>();
    for (const [i, k] of VIF_KEYS.entries()) {
      const a = wire[i + 1];
      if (a?.ok) values.set(k, a.payload.toString('utf8'));
      else if (a?.errno !== 'ENOENT') throw refused(`reading ${base}/${k}`, a);
    }
    return keysOf(base, values);
  }
  const present = new Set((await call(xs, 'xenstore-list', [base])).split('\n').map((l) => l.trim()));
  const keys = VIF_KEYS.filter((k) => present.has(k));
  const values = await readTool(xs, keys.map((k) => `${base}/${k}`));
  return keysOf(base, new Map(keys.map((k, i) => [k, values[i] ?? ''])));
};

type VifKeys = Partial<Record<VifKey, string>>;

/** The keys, or the xenstore error that reading them gave. */
const settled = async (f: () => VifKeys | Promise<VifKeys>): Promise<VifKeys | XbError> => {
  try {
    return await f();
  } catch (e) {
    if (e instanceof XbError) return e;
    throw e;
  }
};

/**
 * Many vifs' keys: over the socket one connection each, as readVifKeys; through the tools one
 * `xenstore-list -p` and one `xenstore-read` for them all, so a boot storm costs two processes, not
 * two per vif. When the joint list or read fails (a guest gone meanwhile), each vif is read alone,
 * so only the vif at fault gets the error; when it times out, every vif gets that error at once
 * (alone, each would wait as long again).
 */
export const readVifKeysMany = async (xs: Xenstore, bases: string[]): Promise<Map<string, VifKeys | XbError>> => {
  const uniq = [...new Set(bases)];
  const alone = async (): Promise<Map<string, VifKeys | XbError>> =>
    new Map(await Promise.all(uniq.map(async (b) => [b, await settled(() => readVifKeys(xs, b))] as const)));
  if (uniq.length < 2 || (xs.socket !== undefined && (await overSocket(xs, [])) !== undefined)) return alone();
  const per = new Map(uniq.map((b) => [b, new Map<string, string>()]));
  const split = (path: string): [string, string] => [path.slice(0, path.lastIndexOf('/')), path.slice(path.lastIndexOf('/') + 1)];
  try {
    const wanted = new Set<string>(VIF_KEYS);
    const present = (await call(xs, 'xenstore-list', ['-p', ...uniq])).split('\n').filter((l) => per.has(split(l)[0]) && wanted.has(split(l)[1]));
    const values = await readTool(xs, present);
    present.forEach((path, i) => per.get(split(path)[0])?.set(split(path)[1], values[i] ?? ''));
  } catch (e) {
    if (!(e instanceof XbError)) throw e;
    return timeouts.has(e) ? new Map(uniq.map((b) => [b, e])) : alone();
  }
  return new Map(await Promise.all(uniq.map(async (b) => [b, await settled(() => keysOf(b, per.get(b) ?? new Map()))] as const)));
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
  if (!wire) return void (await call(xs, 'xenstore-write', pairs.flatMap(([p, v]) => [p, toToolValue(v)])));
  const i = wire.findIndex((a) => !a.ok);
  if (i >= 0 || wire.length !== pairs.length) throw refused(`writing ${pairs[Math.max(i, 0)]?.[0] ?? ''}`, wire[i]);
};

/** Many vifs' `connected` in one xenstore-write: each vif's own keys in order, its status last. */
export const writeConnected = async (xs: Xenstore, vifs: { base: string; before: [string, string][] }[]): Promise<void> => {
  if (vifs.length === 0) return;
  await writePairs(xs, vifs.flatMap((v) => [...v.before, [`${v.base}/hotplug-status`, 'connected'] as [string, string]]));
};
