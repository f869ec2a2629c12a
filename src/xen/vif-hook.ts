/**
 * `xenbridge vif …` / hooks/vif-xenbridge: one vif event, start to finish. xenstore is read before
 * the lock (it may be slow), the kernel is read and changed under the lock shared with apply, and
 * the outcome goes back to xenstore: hotplug-status connected, or hotplug-error + error.
 */
import { loadTopology } from '../config/validate.js';
import { XbError, isXbError } from '../errors.js';
import { createRunner, type Runner } from '../exec/runner.js';
import { execute, journalFile } from '../apply/execute.js';
import { withLock } from '../apply/lock.js';
import { forgetOnDemand, recordOnDemand } from '../apply/on-demand.js';
import { removeFile, runDir } from '../apply/store.js';
import { ifnameProblem } from '../model/ifname.js';
import type { Topology } from '../model/topology.js';
import { readLinks } from '../state/read.js';
import { parseBridgeRequest } from './bridge-spec.js';
import { parseHotplug, type VifEvent } from './hotplug-env.js';
import { HOTPLUG_LOG, logEvent } from './hotplug-log.js';
import { planOffline, planOnDemandCleanup, planOnline } from './vif-plan.js';
import { resolveTarget, type VifTarget } from './vif-target.js';
import { frontendMtu, readVifKeys, writeStatus, type VifKey } from './xenstore.js';

export interface HookContext {
  argv: string[];
  env: Record<string, string | undefined>;
  topologyFile: string;
  netns?: string;
  /** Xen's hotplug log (default /var/log/xen/xen-hotplug.log). */
  logFile?: string;
}

type Keys = Partial<Record<VifKey, string>>;

const targetOf = (keys: Keys, t: Topology): VifTarget => {
  const raw = keys.bridge ?? (t.bridges.length === 1 ? t.bridges[0]?.name : undefined);
  if (raw === undefined) throw new XbError('xenstore', `xenstore bridge is not set and the topology has ${t.bridges.length} bridges: set bridge= in the vif spec`);
  return resolveTarget(parseBridgeRequest(raw), t);
};

const finalName = (ev: VifEvent, keys: Keys): string => {
  if (!keys.vifname) return ev.dev;
  const name = ev.typeIf === 'tap' ? `${keys.vifname}-emu` : keys.vifname;
  const why = ifnameProblem(name);
  if (why) throw new XbError('xenstore', `vifname: ${why}`);
  return name;
};

const mtuOf = (keys: Keys): number | undefined => {
  if (keys.mtu === undefined || keys.mtu === '') return undefined;
  const n = Number(keys.mtu);
  if (!/^\d+$/.test(keys.mtu) || n < 68 || n > 65535) throw new XbError('xenstore', `mtu "${keys.mtu}" is not an MTU (68-65535)`);
  return n;
};

const describe = (t: VifTarget, name: string, mtu: number | undefined): string => {
  const vlans = t.entries.map((e) => (e.pvid ? `${e.vid} untagged` : e.vidEnd ? `${e.vid}-${e.vidEnd}` : `${e.vid}`));
  return `${name} -> ${t.bridge}${vlans.length > 0 ? ` (VLANs ${vlans.join(', ')})` : ''}${mtu ? `, mtu ${mtu}` : ''}`;
};

/** The event's log line, and the MTU the port got (the guest's frontend is told it, as set_mtu does). */
const online = async (ev: VifEvent, keys: Keys, t: Topology, runner: Runner, dir: string): Promise<{ text: string; mtu?: number }> => {
  const target = targetOf(keys, t);
  const name = finalName(ev, keys);
  let mtu = mtuOf(keys);
  let created = '';
  await withLock(dir, async () => {
    const od = target.onDemand;
    const s = await readLinks(runner, {
      names: [ev.dev, name, target.bridge, target.spec.dom0.ifname, ...(od ? [od.device] : [])],
      vlansOf: target.spec.mode === 'filtering' ? name : undefined,
    });
    const plan = planOnline({ dev: ev.dev, name, mtu, target }, s);
    mtu = plan.mtu;
    if (od && plan.onDemand.length > 0) {
      await execute(runner, dir, plan.onDemand, `vif ${name}: VLAN ${od.id}`);
      recordOnDemand(dir, od.bridge, plan.onDemand);
      created = `; created VLAN ${od.id} on demand: ${od.device} in ${od.bridge}`;
    }
    await execute(runner, dir, plan.setup, `vif ${name}`);
    removeFile(journalFile(dir));
  });
  return { text: `${ev.action} ${describe(target, name, mtu)}${created}`, mtu };
};

const offline = async (ev: VifEvent, keys: Keys, t: Topology, runner: Runner, dir: string): Promise<string> => {
  let target: VifTarget | undefined;
  let names = [ev.dev];
  try {
    target = targetOf(keys, t);
    names = [finalName(ev, keys), ev.dev];
  } catch {
    // Offline must succeed whatever xenstore holds now; without a valid target there is nothing to tidy.
  }
  const od = target?.onDemand;
  return withLock(dir, async () => {
    const s = await readLinks(runner, { names: [...names, ...(od ? [od.device, od.bridge] : [])], masters: od ? [od.bridge] : [] });
    const steps = planOffline(names, s);
    const cleanup = target ? planOnDemandCleanup(target, names, s) : [];
    await execute(runner, dir, [...steps, ...cleanup], `vif ${names[0]} ${ev.action}`);
    removeFile(journalFile(dir));
    const removed = od && cleanup.length > 0 ? `; removed VLAN ${od.id}: its last vif left ${od.bridge}` : '';
    if (od && removed) forgetOnDemand(dir, od.bridge);
    const gone = !names.some((n) => s.links.some((l) => l.name === n));
    return `${ev.action} ${names[0]}${gone ? ' (already gone)' : steps.length === 0 ? ' (already detached)' : ''}${removed}`;
  });
};

/** Attach a vif as an xl `online` would, minus xenstore: for the lab and for tests of the attach path. */
export const attachVif = async (runner: Runner, t: Topology, dev: string, bridge: string): Promise<void> => {
  const m = /^vif(\d+)\.(\d+)$/.exec(dev);
  if (!m) throw new XbError('usage', `${dev} is not a vif name (vifD.N)`);
  const ev: VifEvent = { action: 'online', typeIf: 'vif', dev, xenbusPath: `backend/vif/${m[1]}/${m[2]}`, domid: Number(m[1]), devid: Number(m[2]) };
  await online(ev, { bridge }, t, runner, runDir(runner.netns));
};

export const runVifHook = async (ctx: HookContext): Promise<void> => {
  const ev = parseHotplug(ctx.argv, ctx.env);
  const xs = createRunner();
  const runner = createRunner(ctx.netns);
  const dir = runDir(ctx.netns);
  const log = { file: ctx.logFile ?? HOTPLUG_LOG, runner: xs };
  try {
    const keys = await readVifKeys(xs, ev.xenbusPath);
    const t = loadTopology(ctx.topologyFile);
    if (ev.action === 'online' || ev.action === 'add') {
      const r = await online(ev, keys, t, runner, dir);
      // The status write and the log line are independent: neither waits for the other.
      const logged = logEvent(log, ev.domid, r.text, 'notice');
      if (ev.action === 'online') await writeStatus(xs, ev.xenbusPath, 'connected', r.mtu === undefined ? [] : [frontendMtu(ev.domid, ev.devid, r.mtu)]);
      await logged;
    } else await logEvent(log, ev.domid, await offline(ev, keys, t, runner, dir), 'notice');
  } catch (e) {
    const err = isXbError(e) ? e : new XbError('bug', (e as Error).message);
    const line = `${ev.dev} ${ev.action}: ${err.message}${err.detail[0] && err.kind !== 'rolled-back' ? ` (${err.detail[0]})` : ''}`;
    const logged = logEvent(log, ev.domid, line, 'err');
    try {
      await writeStatus(xs, ev.xenbusPath, { error: line });
    } catch (w) {
      process.stderr.write(`vif-xenbridge: cannot report the error to xenstore: ${(w as Error).message}\n`);
    }
    await logged;
    throw err;
  }
};
