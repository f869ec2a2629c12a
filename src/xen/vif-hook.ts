/**
 * `xenbridge vif …` / hooks/vif-xenbridge: one vif event, start to finish. xenstore is read before
 * the lock (it may be slow), the kernel is read and changed under the lock shared with apply, and
 * the outcome goes back to xenstore: hotplug-status connected, or hotplug-error + error.
 */
import { loadTopology } from '../config/validate.js';
import { isXbError, shown, XbError } from '../errors.js';
import type { Context } from '../context.js';
import type { Runner } from '../exec/runner.js';
import { commitRun, execute } from '../txn/execute.js';
import { recoverVifLocked } from '../txn/recover-run.js';
import { HOOK_RECORDS, withTxn } from '../txn/txn.js';

import { forgetOnDemand, recordOnDemand } from '../txn/on-demand.js';
import { ifnameProblem } from '../model/ifname.js';
import type { Topology } from '../model/topology.js';
import { readLinks } from '../state/read.js';
import { linkByName, type Link } from '../state/types.js';
import { parseBridgeRequest } from '../model/bridge-spec.js';
import { parseHotplug, validXenbusPath, type VifEvent } from './hotplug-env.js';
import { HOTPLUG_LOG, logEvent, type EventLog } from './hotplug-log.js';
import { planOffline, planOnDemandCleanup, planOnline } from './vif-plan.js';
import { resolveTarget, type VifTarget } from '../plan/vif-target.js';
import { ownLink, vifnameFor } from './vif-owner.js';
import { forgetVifRecord, readVifRecord, writeVifRecord } from './vif-record.js';
import { collectLocked, COLLECT_AT, guardOf, planGuard } from './vif-guard.js';
import { forgetOps, retiredGuards, retireOps, saveOps } from '../apply/guard-records.js';
import { commitFiles } from '../txn/commit-files.js';
import { combineVlanKey } from '../model/vlan-key.js';
import type { VifGuard } from '../plan/guard.js';
import { frontendMtu, readVifKeys, writeStatus, xenstoreOf, type VifKey, type Xenstore } from '../state/xenstore.js';

/** libxl kills a hotplug script after 40 s (LIBXL_HOTPLUG_TIMEOUT): the hook gives up on the lock well before, naming its holder. */
export const HOOK_LOCK_MS = 20_000;

export interface HookEvent {
  argv: string[];
  /** The hotplug script's environment as Xen sets it: vif, XENBUS_PATH, INTERFACE. */
  env: Record<string, string | undefined>;
  topologyFile: string;
  /** The topology already loaded from topologyFile (the hook service keeps it while the file is unchanged). */
  topology?: Topology;
  /** Xen's hotplug log (default /var/log/xen/xen-hotplug.log). */
  logFile?: string;
  /** Where the event's line goes besides the logs (default stderr; the hook service sends it to the hook). */
  echo?: (line: string) => void;
  /** Runs logger(1) (default: the context's host runner; the hook service runs it once the hook has its answer). */
  logRunner?: Runner;
  /** The hook service's: how long its hook still waits, which bounds the wait for the lock. */
  lockMs?: number;
  /** The hook service's: asked under the lock before anything changes; false when the hook took the event back or gave up on it. */
  begin?: () => boolean;
}

/** The hook service's event was taken back by its hook (which runs it) or given up: it is not run, and nothing is reported. */
export class Withdrawn extends XbError {
  constructor(what: string) {
    super('state', `${what}: taken back by its hook before it started: the hook runs it, or gave up on it`);
  }
}

/** Under the lock, first: an event its hook has withdrawn must not change anything. */
const started = (ev: VifEvent, begin: (() => boolean) | undefined): void => {
  if (begin && !begin()) throw new Withdrawn(`${ev.dev} ${ev.action}`);
};

const hookLockMs = (ctx: Context, lockMs = HOOK_LOCK_MS): number => Math.max(0, Math.min(ctx.lockTimeoutMs, HOOK_LOCK_MS, lockMs));

/** The event's outcome to xl: hotplug-status connected (with the guest's MTU) and the log line. */
export const finishOnline = async (xs: Xenstore, log: EventLog, ev: VifEvent, r: { text: string; mtu?: number }): Promise<void> => {
  // The status write and the log line are independent: neither waits for the other.
  const logged = logEvent(log, ev.domid, r.text, 'notice');
  if (ev.action === 'online') await writeStatus(xs, ev.xenbusPath, 'connected', r.mtu === undefined ? [] : [frontendMtu(ev.domid, ev.devid, r.mtu)]);
  await logged;
};

export type Keys = Partial<Record<VifKey, string>>;

export const targetOf = (keys: Keys, t: Topology): VifTarget => {
  const raw = keys.bridge ?? (t.bridges.length === 1 ? t.bridges[0]?.name : undefined);
  if (raw === undefined) throw new XbError('xenstore', `xenstore bridge is not set and the topology has ${t.bridges.length} bridges: set bridge= in the vif spec`);
  return resolveTarget(combineVlanKey(parseBridgeRequest(raw), keys.vlan), t);
};

export const mtuOf = (keys: Keys): number | undefined => {
  if (keys.mtu === undefined || keys.mtu === '') return undefined;
  const n = Number(keys.mtu);
  if (!/^\d+$/.test(keys.mtu) || n < 68 || n > 65535) throw new XbError('xenstore', `mtu ${shown(keys.mtu)} is not an MTU (68-65535)`);
  return n;
};

export const describe = (t: VifTarget, name: string, mtu: number | undefined, g: VifGuard | undefined): string => {
  const vlans = t.entries.map((e) => (e.pvid ? `${e.vid} untagged` : e.vidEnd ? `${e.vid}-${e.vidEnd}` : `${e.vid}`));
  const shape = !g?.vlans ? 'any tag' : g.vlans.tagged.length === 0 ? 'untagged only' : `${g.vlans.untagged ? 'untagged + ' : ''}tagged ${g.vlans.tagged.map((r) => r.start).join(' ')}`;
  const spoof = g?.mac ? `, from ${g.mac}${g.ips ? ` ${g.ips.join(' ')}` : ''} only` : '';
  return `${name} -> ${t.bridge}${vlans.length > 0 ? ` (VLANs ${vlans.join(', ')})` : ''}${mtu ? `, mtu ${mtu}` : ''}; ${shape}${spoof}`;
};

/** The event's log line, and the MTU the port got (the guest's frontend is told it, as set_mtu does). */
const online = async (ev: VifEvent, keys: Keys, t: Topology, ctx: Context, h: Pick<HookEvent, 'lockMs' | 'begin'> = {}): Promise<{ text: string; mtu?: number }> => {
  const { runner, runDir: dir } = ctx;
  const target = targetOf(keys, t);
  const name = vifnameFor(ev, keys.vifname, t);
  let mtu = mtuOf(keys);
  let notes = '';
  const guard = guardOf(target, keys, name);
  await withTxn(dir, async () => {
    started(ev, h.begin);
    const recovered = await recoverVifLocked(runner, dir);
    if (recovered) notes += `; ${recovered}`;
    const od = target.onDemand;
    const rec = readVifRecord(dir, ev);
    const s = await readLinks(runner, {
      kernel: ctx.kernel,
      names: [ev.dev, name, ...(rec ? [rec.name] : []), target.bridge, target.spec.dom0.ifname, ...(od ? [od.device] : [])],
      vlansOf: target.spec.mode === 'filtering' ? name : undefined,
    });
    const own = ownLink(ev, rec, s);
    const plan = planOnline({ dev: ev.dev, name, mtu, target, own, guarded: guard !== undefined }, s);
    mtu = plan.mtu;
    if (od && plan.onDemand.length > 0) {
      const j = await execute(runner, dir, plan.onDemand, `vif ${name}: VLAN ${od.id}`);
      commitRun(dir, j, (id) => recordOnDemand(dir, od.bridge, plan.onDemand, id));
      notes += `; created VLAN ${od.id} on demand: ${od.device} in ${od.bridge}`;
    }
    // Recorded before the rename, so a crash after it still lets offline find the device.
    if (own && own.name !== name) writeVifRecord(dir, ev, { ifindex: own.ifindex, name });
    // The guard goes in first: it matches the port by its final name, so no frame passes unguarded.
    const j = await execute(runner, dir, [...plan.first, ...planGuard(dir, name, guard), ...plan.setup], `vif ${name}`);
    commitRun(dir, j, (id) => commitFiles(dir, id, guard ? saveOps(guard) : forgetOps(name)));
  }, { records: HOOK_RECORDS, lockMs: hookLockMs(ctx, h.lockMs) });
  return { text: `${ev.action} ${describe(target, name, mtu, guard)}${notes}`, mtu };
};

/** Retired guards at which an offline removes them all: COLLECT_AT unless the context lowers it. */
export const collectThreshold = (ctx: Pick<Context, 'guardCollectAt'>): number => ctx.guardCollectAt ?? COLLECT_AT;

/**
 * Every COLLECT_AT-th guard an offline retires, it removes the lot in a run of its own, after its
 * own has committed: a refused or failed removal never fails the guest's offline.
 */
const collectMany = async (ctx: Context): Promise<string> => {
  if (retiredGuards(ctx.runDir).length < collectThreshold(ctx)) return '';
  try {
    const gone = await collectLocked(ctx);
    return gone.length === 0 ? '' : `; removed the guards of ${gone.length} detached vifs`;
  } catch (e) {
    return `; the guards of detached vifs stay until apply: ${(e as Error).message}`;
  }
};

/** Offline acts on the guest's own link only, whatever xenstore's vifname says now. */
const offline = async (ev: VifEvent, keys: Keys, t: Topology, ctx: Context, h: Pick<HookEvent, 'lockMs' | 'begin'>): Promise<string> => {
  const { runner, runDir: dir } = ctx;
  let target: VifTarget | undefined;
  try {
    target = targetOf(keys, t);
  } catch {
    // Offline must succeed whatever xenstore holds now; without a valid target there is nothing to tidy.
  }
  const od = target?.onDemand;
  const text = await withTxn(dir, async () => {
    started(ev, h.begin);
    const recovered = await recoverVifLocked(runner, dir);
    const rec = readVifRecord(dir, ev);
    const asked = keys.vifname ? [ev.typeIf === 'tap' ? `${keys.vifname}-emu` : keys.vifname].filter((n) => !ifnameProblem(n)) : [];
    // Guards match by name and outlive a vanished device: every one this guest's port had is its.
    const guarded = [...new Set([ev.dev, ...(rec ? [rec.name] : [])])];
    const s = await readLinks(runner, { kernel: ctx.kernel, names: [...guarded, ...(od ? [od.device, od.bridge] : [])], masters: od ? [od.bridge] : [] });
    let own: Link | undefined;
    let why = recovered ? `; ${recovered}` : '';
    try {
      own = ownLink(ev, rec, s);
    } catch (e) {
      why += `; ${(e as Error).message}`;
    }
    if (own && !guarded.includes(own.name)) guarded.push(own.name);
    // A name another guest's attached port holds now (a stale record) keeps its guard.
    const mine = guarded.filter((n) => n === own?.name || !linkByName(s, n)?.master);
    const steps = planOffline(own);
    const cleanup = target ? planOnDemandCleanup(target, own ? [own.name] : [], s) : [];
    // The guards stay: removing one costs an RCU grace period (vif-guard.ts).
    const j = await execute(runner, dir, [...steps, ...cleanup], `vif ${own?.name ?? ev.dev} ${ev.action}`);
    commitRun(dir, j, (id) => {
      commitFiles(dir, id, mine.flatMap(retireOps));
      if (od && cleanup.length > 0) forgetOnDemand(dir, od.bridge, id);
    });
    why += await collectMany(ctx);
    const removed = od && cleanup.length > 0 ? `; removed VLAN ${od.id}: its last vif left ${od.bridge}` : '';
    const note = own ? (steps.length === 0 ? ' (already detached)' : '') : ' (already gone)';
    const other = asked.find((n) => n !== ev.dev && n !== own?.name);
    return `${ev.action} ${own?.name ?? ev.dev}${note}${removed}${other ? `; ${other} left alone: not this guest's device` : ''}${why}`;
  }, { records: HOOK_RECORDS, lockMs: hookLockMs(ctx, h.lockMs) });
  forgetVifRecord(dir, ev);
  return text;
};

/** Attach a vif as an xl `online` would, minus xenstore: for the lab and for tests of the attach path. */
export const attachVif = async (ctx: Context, t: Topology, dev: string, bridge: string, mac?: string): Promise<void> => {
  const m = /^vif(\d+)\.(\d+)$/.exec(dev);
  if (!m) throw new XbError('usage', `${dev} is not a vif name (vifD.N)`);
  const ev: VifEvent = { action: 'online', typeIf: 'vif', dev, xenbusPath: `backend/vif/${m[1]}/${m[2]}`, domid: Number(m[1]), devid: Number(m[2]) };
  await online(ev, { bridge, ...(mac ? { mac } : {}) }, t, ctx);
};

/** Longest hotplug-error: xenstored takes 4096 bytes a request, path included. */
const ERROR_MAX = 1024;

/** What xl's hotplug-error says of a failed event. */
export const errorLine = (ev: VifEvent, err: XbError): string => {
  const line = `${ev.dev} ${ev.action}: ${err.message}${err.detail[0] && err.kind !== 'rolled-back' ? ` (${err.detail[0]})` : ''}`;
  return line.length > ERROR_MAX ? `${line.slice(0, ERROR_MAX)}...` : line;
};

/**
 * The error goes to xl (hotplug-error, so xl fails at once with it) and to the logs. If xenstore
 * takes no error text, the status alone still goes: without it xl waits out its hotplug timeout.
 */
export const reportError = async (xs: Xenstore, log: EventLog, path: string, domid: number, line: string): Promise<void> => {
  const logged = logEvent(log, domid, line, 'err');
  try {
    await writeStatus(xs, path, { error: line });
  } catch (w) {
    process.stderr.write(`vif-xenbridge: cannot report the error to xenstore: ${(w as Error).message}\n`);
    await writeStatus(xs, path, { error: 'the vif hook failed: see xen-hotplug.log' }).catch(() => undefined);
  }
  await logged;
};

export const runVifHook = async (h: HookEvent, ctx: Context): Promise<void> => {
  const xs = xenstoreOf(ctx);
  const log: EventLog = { file: h.logFile ?? HOTPLUG_LOG, runner: h.logRunner ?? ctx.host, ...(h.echo ? { echo: h.echo } : {}) };
  let ev: VifEvent;
  try {
    ev = parseHotplug(h.argv, h.env);
  } catch (e) {
    const path = validXenbusPath(h.env);
    if (path !== undefined) await reportError(xs, log, path, Number(path.split('/')[2]), `usage error: ${(e as Error).message}`);
    throw e;
  }
  try {
    const keys = await readVifKeys(xs, ev.xenbusPath);
    const t = h.topology ?? loadTopology(h.topologyFile);
    if (ev.action === 'online' || ev.action === 'add') {
      await finishOnline(xs, log, ev, await online(ev, keys, t, ctx, h));
    } else await logEvent(log, ev.domid, await offline(ev, keys, t, ctx, h), 'notice');
  } catch (e) {
    if (e instanceof Withdrawn) throw e;
    const err = isXbError(e) ? e : new XbError('bug', `unexpected error: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    await reportError(xs, log, ev.xenbusPath, ev.domid, errorLine(ev, err));
    throw err;
  }
};
