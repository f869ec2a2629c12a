/**
 * One batch of the hook service's queue: the batchable onlines in one transaction (vif-batch.ts),
 * every other event on its own, in order; each answered to its hook and told to xl as the direct
 * hook would. An event waits for the lock only while its hook still waits for the answer.
 */
import { statSync } from 'node:fs';
import { loadTopology } from '../config/validate.js';
import { isXbError, XbError } from '../errors.js';
import type { Context } from '../context.js';
import type { Topology } from '../model/topology.js';
import { parseHotplug, validXenbusPath, type VifEvent } from './hotplug-env.js';
import { HOTPLUG_LOG, logEvents, type EventLog } from './hotplug-log.js';
import { begin, reply, type Claimed } from './hookd-spool.js';
import { batchable, onlineBatch, type BatchItem } from './vif-batch.js';
import { errorLine, finishOnline, HOOK_LOCK_MS, reportError, runVifHook, Withdrawn } from './vif-hook.js';
import { deferring, echoTo } from './hookd-log.js';
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

/**
 * The hook stops waiting 36 s after it wrote its event (18 ticks of 2 s; libxl kills it at 40 s).
 * The lock is waited for until 30 s after, so the hook still hears the real error (the holder).
 */
const ANSWER_BY_MS = 30_000;

/** When the event stops waiting for the lock (monotonic ms): its hook's patience, and the direct path's own limit from its first try. */
const lockBy = (o: HookdOptions, r: Claimed & { lockBy?: number }): number => {
  r.lockBy ??= Math.min(r.arrived + ANSWER_BY_MS, performance.now() + Math.min(o.ctx.lockTimeoutMs, HOOK_LOCK_MS));
  return r.lockBy;
};
const lockLeft = (o: HookdOptions, r: Claimed): number => Math.max(0, lockBy(o, r) - performance.now());

const reportLines = (err: XbError): string[] => [`xenbridge: ${err.message}`, ...err.detail.map((d) => `  ${d}`)];

export const asError = (e: unknown): XbError => (isXbError(e) ? e : new XbError('bug', `unexpected error: ${(e as Error)?.message ?? String(e)}`, { cause: e }));

const eventLog = (o: HookdOptions, lines: string[]): EventLog => ({ file: o.logFile ?? HOTPLUG_LOG, runner: deferring(o.ctx.host), echo: echoTo(lines) });

export const fail = async (o: HookdOptions, spool: string, id: string, ev: VifEvent | undefined, path: string | undefined, e: unknown, lines: string[]): Promise<void> => {
  const err = asError(e);
  if (ev) await reportError(xenstoreOf(o.ctx), eventLog(o, lines), ev.xenbusPath, ev.domid, errorLine(ev, err));
  else if (path !== undefined) await reportError(xenstoreOf(o.ctx), eventLog(o, lines), path, Number(path.split('/')[2]), `${err.kind === 'usage' ? 'usage error: ' : ''}${err.message}`);
  reply(spool, id, 1, [...lines, ...reportLines(err)].join('\n'));
};

/** Its hook runs it, gave up on it, or is gone: nothing goes to xenstore or to the hook. */
const withdrawn = (o: HookdOptions, err: Withdrawn): void => o.say(`hookd: ${err.message}`);

let cached: { key: string; t: Topology } | undefined;

/** The topology, parsed again only when its file changed (the YAML parse and checks are much of an event's cost). */
export const topology = (file: string): Topology => {
  const st = statSync(file, { bigint: true });
  const key = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  if (cached?.key !== key) cached = { key, t: loadTopology(file) };
  return cached.t;
};

/** A batch read and sorted, before its transaction: the batchable onlines, and every other event in order. */
export interface Prepared {
  items: (BatchItem & { r: Claimed })[];
  single: Claimed[];
  t?: Topology;
  /** The time spent reading xenstore, for the log line. */
  readMs: number;
}

/**
 * Reads reqs' xenstore keys and sorts them into a batch, or into `into` (events taken in while the
 * batch was read): an event whose keys cannot be used is answered here.
 */
export const prepareBatch = async (o: HookdOptions, spool: string, reqs: Claimed[], into?: Prepared): Promise<Prepared> => {
  const p: Prepared = into ?? { items: [], single: [], readMs: 0 };
  if (!into) {
    try {
      p.t = topology(o.topologyFile);
    } catch {
      // The one-event path reports the topology's error to each event exactly as the direct hook does.
    }
  }
  const t = p.t;
  const t0 = Date.now();
  const onlines: { r: Claimed; ev: VifEvent }[] = [];
  await Promise.all(reqs.map(async (r) => {
    let ev: VifEvent;
    try {
      ev = parseHotplug(r.argv, r.env);
    } catch (e) {
      await fail(o, spool, r.id, undefined, validXenbusPath(r.env), e, []);
      return;
    }
    if (!t || (ev.action !== 'online' && ev.action !== 'add')) p.single.push(r);
    else onlines.push({ r, ev });
  }));
  const keys = await readVifKeysMany(xenstoreOf(o.ctx), onlines.map(({ ev }) => ev.xenbusPath)).catch((e: unknown) => asError(e));
  await Promise.all(onlines.map(async ({ r, ev }) => {
    const k = keys instanceof XbError ? keys : keys.get(ev.xenbusPath);
    if (k === undefined || k instanceof XbError) return fail(o, spool, r.id, ev, undefined, k ?? new XbError('bug', `no xenstore keys read for ${ev.xenbusPath}`), []);
    const item = { r, ev, keys: k, begin: () => begin(spool, r) };
    if (t && batchable(item, t)) p.items.push(item);
    else p.single.push(r);
  }));
  p.readMs += Date.now() - t0;
  return p;
};

/**
 * A prepared batch: the batchable onlines in one transaction, every other event on its own, in order.
 * The transaction waits for the lock as long as its most impatient event may; an event that could
 * have waited longer goes back to the queue (again) instead of failing with it.
 */
export const runPrepared = async (o: HookdOptions, spool: string, { items, single, t, readMs }: Prepared, again: (r: Claimed[]) => void): Promise<void> => {
  if (t && items.length > 0) {
    if (items.length > 1) o.say(`hookd: ${items.length} onlines in one transaction (xenstore read in ${readMs} ms)`);
    const outcomes = await onlineBatch(o.ctx, items, t, Math.min(...items.map(({ r }) => lockLeft(o, r))));
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
      for (const { item, lines } of ok) reply(spool, item.r.id, 0, lines.join('\n'));
      await logged;
    }
    // Still time for the lock: waited for only as long as another event of the batch could.
    const retry = items.filter((item, i) => {
      const r = outcomes[i];
      return r !== undefined && !r.ok && r.error.kind === 'lock' && lockLeft(o, item.r) > 100;
    });
    if (retry.length > 0) again(retry.map((x) => x.r));
    await Promise.all(items.map(async (item, i) => {
      const r = outcomes[i];
      if ((r?.ok && written === undefined) || retry.includes(item)) return;
      if (r && !r.ok && r.error instanceof Withdrawn) return withdrawn(o, r.error);
      const lines: string[] = [];
      try {
        if (!r) throw new XbError('bug', 'an event of the batch got no outcome');
        if (!r.ok) throw r.error;
        await finishOnline(xenstoreOf(o.ctx), eventLog(o, lines), item.ev, r);
        reply(spool, item.r.id, 0, lines.join('\n'));
      } catch (e) {
        await fail(o, spool, item.r.id, item.ev, undefined, e, lines);
      }
    }));
  }
  for (const r of single) {
    const lines: string[] = [];
    try {
      await runVifHook({
        argv: r.argv, env: r.env, topologyFile: o.topologyFile, ...(t ? { topology: t } : {}), logFile: o.logFile, echo: echoTo(lines), logRunner: deferring(o.ctx.host),
        lockMs: lockLeft(o, r), begin: () => begin(spool, r),
      }, o.ctx);
      reply(spool, r.id, 0, lines.join('\n'));
    } catch (e) {
      if (e instanceof Withdrawn) withdrawn(o, e);
      // runVifHook has told xl already.
      else reply(spool, r.id, 1, [...lines, ...reportLines(asError(e))].join('\n'));
    }
  }
};
