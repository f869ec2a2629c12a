/**
 * `xenbridge hookd`: the resident vif hook service. hooks/vif-xenbridge hands it each event
 * through the spool (see hookd-spool.ts) instead of starting Node; the service runs the events
 * with the same library code and the same transaction lock as apply, and queued `online` events
 * go to the kernel together (vif-batch.ts). One service per run directory, held by a lock of its
 * own for its lifetime; its pid file lets the hook tell a live service from a dead one.
 */
import { constants, openSync, statSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { loadTopology } from '../config/validate.js';
import { isXbError, XbError } from '../errors.js';
import type { Context } from '../context.js';
import type { Runner } from '../exec/runner.js';
import type { Topology } from '../model/topology.js';
import { startTime, withLock } from '../txn/lock.js';
import { ensureDir, removeFile, writeDurable } from '../txn/store.js';
import { parseHotplug, validXenbusPath, type VifEvent } from './hotplug-env.js';
import { HOTPLUG_LOG, logEvents, type EventLog } from './hotplug-log.js';
import { claim, listSpool, reply, spoolDir, unclaim, type HookRequest } from './hookd-spool.js';
import { batchable, onlineBatch, type BatchItem } from './vif-batch.js';
import { errorLine, finishOnline, reportError, runVifHook } from './vif-hook.js';
import { collectGuards } from './vif-guard.js';
import { deferring, echoTo, flushSyslog } from './hookd-log.js';
import { frontendMtu, readVifKeysMany, writeConnected, xenstoreOf } from '../state/xenstore.js';

export interface HookdOptions {
  /** The served scope: its runner changes the kernel, its host runner runs xenstore-*, logger and mkfifo. */
  ctx: Context;
  topologyFile: string;
  logFile?: string;
  /** Events waiting at most; more are refused at once with a hotplug error. */
  queueMax: number;
  /** Events per transaction at most. */
  batchMax: number;
  /** The service's own lines (starting, stopping). */
  say: (line: string) => void;
}

/** Long enough that a burst of events (a boot storm, a migration) is over; short enough that few guards wait. */
const COLLECT_IDLE_MS = 2000;
/** The collection only tries the lock: whoever holds it, the next quiet moment will do. */
const COLLECT_LOCK_MS = 200;

export interface Hookd {
  /** Resolves once the service has stopped (after stop()). */
  done: Promise<void>;
  /** Stops taking events, finishes the batch under way, hands queued events back, and ends. */
  stop(): void;
}

const keyOf = (r: HookRequest): string => `${r.env.XENBUS_PATH ?? ''}|${r.env.vif ?? r.env.INTERFACE ?? ''}`;

const reportLines = (err: XbError): string[] => [`xenbridge: ${err.message}`, ...err.detail.map((d) => `  ${d}`)];

const asError = (e: unknown): XbError => (isXbError(e) ? e : new XbError('bug', `unexpected error: ${(e as Error)?.message ?? String(e)}`, { cause: e }));

const eventLog = (o: HookdOptions, lines: string[]): EventLog => ({ file: o.logFile ?? HOTPLUG_LOG, runner: deferring(o.ctx.host), echo: echoTo(lines) });

const fail = async (o: HookdOptions, spool: string, id: string, ev: VifEvent | undefined, path: string | undefined, e: unknown, lines: string[]): Promise<void> => {
  const err = asError(e);
  if (ev) await reportError(xenstoreOf(o.ctx), eventLog(o, lines), ev.xenbusPath, ev.domid, errorLine(ev, err));
  else if (path !== undefined) await reportError(xenstoreOf(o.ctx), eventLog(o, lines), path, Number(path.split('/')[2]), `${err.kind === 'usage' ? 'usage error: ' : ''}${err.message}`);
  reply(spool, id, 1, [...lines, ...reportLines(err)].join('\n'));
};

let cached: { key: string; t: Topology } | undefined;

/** The topology, parsed again only when its file changed (the YAML parse and checks are much of an event's cost). */
const topology = (file: string): Topology => {
  const st = statSync(file, { bigint: true });
  const key = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  if (cached?.key !== key) cached = { key, t: loadTopology(file) };
  return cached.t;
};

/** A batch: the batchable onlines in one transaction, every other event on its own, in order. */
const runBatch = async (o: HookdOptions, spool: string, reqs: HookRequest[]): Promise<void> => {
  const items: (BatchItem & { id: string })[] = [];
  const single: HookRequest[] = [];
  let t: Topology | undefined;
  try {
    t = topology(o.topologyFile);
  } catch {
    // The one-event path reports the topology's error to each event exactly as the direct hook does.
  }
  const t0 = Date.now();
  const onlines: { r: HookRequest; ev: VifEvent }[] = [];
  await Promise.all(reqs.map(async (r) => {
    let ev: VifEvent;
    try {
      ev = parseHotplug(r.argv, r.env);
    } catch (e) {
      await fail(o, spool, r.id, undefined, validXenbusPath(r.env), e, []);
      return;
    }
    if (!t || (ev.action !== 'online' && ev.action !== 'add')) single.push(r);
    else onlines.push({ r, ev });
  }));
  const keys = await readVifKeysMany(xenstoreOf(o.ctx), onlines.map(({ ev }) => ev.xenbusPath)).catch((e: unknown) => asError(e));
  await Promise.all(onlines.map(async ({ r, ev }) => {
    const k = keys instanceof XbError ? keys : keys.get(ev.xenbusPath);
    if (k === undefined || k instanceof XbError) return fail(o, spool, r.id, ev, undefined, k ?? new XbError('bug', `no xenstore keys read for ${ev.xenbusPath}`), []);
    const item = { id: r.id, ev, keys: k };
    if (t && batchable(item, t)) items.push(item);
    else single.push(r);
  }));
  if (t && items.length > 0) {
    if (items.length > 1) o.say(`hookd: ${items.length} onlines in one transaction (xenstore read in ${Date.now() - t0} ms)`);
    const outcomes = await onlineBatch(o.ctx, items, t);
    const ok = items.flatMap((item, i) => {
      const r = outcomes[i];
      return r?.ok ? [{ item, r, lines: [] as string[] }] : [];
    });
    // Every attached vif's status in one xenstore-write and its line in one logger: a storm costs two processes here, not two per vif.
    let written: unknown;
    try {
      await writeConnected(xenstoreOf(o.ctx), ok.filter((x) => x.item.ev.action === 'online').map(({ item, r }) => ({ base: item.ev.xenbusPath, before: r.mtu === undefined ? [] : [frontendMtu(item.ev.domid, item.ev.devid, r.mtu)] })));
    } catch (e) {
      written = e;
    }
    if (written === undefined) {
      // The lines are echoed before logger starts: each hook is answered without waiting for syslog.
      const logged = logEvents(eventLog(o, []), ok.map(({ item, r, lines }) => ({ domid: item.ev.domid, text: r.text, echo: echoTo(lines) })));
      for (const { item, lines } of ok) reply(spool, item.id, 0, lines.join('\n'));
      await logged;
    }
    await Promise.all(items.map(async (item, i) => {
      const r = outcomes[i];
      if (r?.ok && written === undefined) return;
      const lines: string[] = [];
      try {
        if (!r) throw new XbError('bug', 'an event of the batch got no outcome');
        if (!r.ok) throw r.error;
        await finishOnline(xenstoreOf(o.ctx), eventLog(o, lines), item.ev, r);
        reply(spool, item.id, 0, lines.join('\n'));
      } catch (e) {
        await fail(o, spool, item.id, item.ev, undefined, e, lines);
      }
    }));
  }
  for (const r of single) {
    const lines: string[] = [];
    try {
      await runVifHook({ argv: r.argv, env: r.env, topologyFile: o.topologyFile, ...(t ? { topology: t } : {}), logFile: o.logFile, echo: echoTo(lines), logRunner: deferring(o.ctx.host) }, o.ctx);
      reply(spool, r.id, 0, lines.join('\n'));
    } catch (e) {
      // runVifHook has told xl already.
      reply(spool, r.id, 1, [...lines, ...reportLines(asError(e))].join('\n'));
    }
  }
};

const serve = (o: HookdOptions, spool: string, fifo: string): Hookd => {
  const queue: HookRequest[] = [];
  let busy = false;
  let stopping = false;
  let ended: () => void = () => undefined;
  const done = new Promise<void>((resolve) => { ended = resolve; });

  const refuse = async (r: HookRequest): Promise<void> => {
    const path = validXenbusPath(r.env);
    const err = new XbError('state', `the hook service's queue is full (${o.queueMax} events waiting): try again once the guests already starting are up`);
    const ev = (() => { try { return parseHotplug(r.argv, r.env); } catch { return undefined; } })();
    await fail(o, spool, r.id, ev, path, err, []);
    await flushSyslog();
  };

  let idle: NodeJS.Timeout | undefined;
  // Removing guards waits for an RCU grace period: done here, when no guest is waiting for it.
  const collect = async (): Promise<void> => {
    idle = undefined;
    if (busy || stopping) return;
    busy = true;
    let again = false;
    try {
      const note = await collectGuards(o.ctx, COLLECT_LOCK_MS, () => queue.length === 0 && !stopping);
      if (note) o.say(`hookd: ${note}`);
    } catch (e) {
      const err = asError(e);
      again = err.kind === 'lock';
      if (!again) o.say(`hookd: cannot remove the guards of detached vifs (apply will): ${err.message}`);
    } finally {
      busy = false;
      if (stopping) finish();
      else if (queue.length > 0) void work();
      else if (again) arm();
    }
  };

  const arm = (): void => {
    if (idle) clearTimeout(idle);
    idle = setTimeout(() => void collect(), COLLECT_IDLE_MS);
  };

  const work = async (): Promise<void> => {
    if (busy || queue.length === 0) return;
    busy = true;
    if (idle) clearTimeout(idle);
    idle = undefined;
    try {
      while (queue.length > 0 && !stopping) {
        const seen = new Set<string>();
        const take: HookRequest[] = [];
        // The same vif twice in one transaction would plan against a state its twin changes: the twin waits for the next one.
        for (let i = 0; i < queue.length && take.length < o.batchMax;) {
          const r = queue[i] as HookRequest;
          if (seen.has(keyOf(r))) { i++; continue; }
          seen.add(keyOf(r));
          take.push(r);
          queue.splice(i, 1);
        }
        await runBatch(o, spool, take);
        await flushSyslog();
      }
    } finally {
      busy = false;
      if (stopping) finish();
      else arm();
    }
  };

  const scan = (ext = '.req'): void => {
    if (stopping) return;
    for (const id of listSpool(spool, ext)) {
      if (queue.some((q) => q.id === id)) continue;
      const r = claim(spool, id, ext);
      if (r === undefined) continue;
      if (typeof r === 'string') reply(spool, id, 1, `xenbridge: ${r}`);
      else if (queue.length >= o.queueMax) void refuse(r);
      else queue.push(r);
    }
    void work();
  };

  const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  const bell = new Socket({ fd, readable: true, writable: false });
  bell.on('data', () => scan());
  bell.on('error', (e) => o.say(`hookd: doorbell ${fifo}: ${e.message}`));
  // A ring lost while no service held the FIFO still leaves its request in the spool.
  const sweep = setInterval(() => scan(), 1000);

  let finished = false;
  function finish(): void {
    if (finished) return;
    finished = true;
    clearInterval(sweep);
    if (idle) clearTimeout(idle);
    bell.destroy();
    for (const r of queue.splice(0)) unclaim(spool, r.id);
    ended();
  }

  // Events a killed service had taken are run again first: each is idempotent, and its journal is undone first.
  scan('.work');
  scan();
  // Guards a stopped service left waiting are removed once it is quiet, like any others.
  if (!busy) arm();
  return {
    done,
    stop: () => {
      stopping = true;
      if (!busy) finish();
    },
  };
};

/** Runs the service until stop(); the promise it gives settles once it has ended. */
export const startHookd = async (o: HookdOptions, started: (h: Hookd) => void): Promise<void> => {
  const spool = ensureDir(spoolDir(o.ctx.runDir));
  const fifo = join(spool, 'fifo');
  await withLock(spool, async () => {
    const made = await o.ctx.host.run('sh', ['-c', '[ -p "$1" ] || { rm -f "$1" && mkfifo -m 600 "$1"; }', 'sh', fifo]);
    if (made.exitCode !== 0) throw new XbError('state', `cannot make the hook service's FIFO ${fifo}: ${made.stderr.trim()}`);
    const pidFile = join(spool, 'pid');
    writeDurable(pidFile, `${process.pid} ${startTime(process.pid) ?? '?'}\n`);
    try {
      // Parsed and checked now, before xendomains starts guests, not by the first guest's event.
      topology(o.topologyFile);
    } catch {
      // Each event reports the topology's error, as the direct hook does.
    }
    const h = serve(o, spool, fifo);
    o.say(`hookd: serving vif events from ${spool} (queue ${o.queueMax}, batches of up to ${o.batchMax})`);
    started(h);
    try {
      await h.done;
    } finally {
      o.ctx.runner.close();
      removeFile(pidFile);
    }
    o.say('hookd: stopped');
  }, 2000);
};
