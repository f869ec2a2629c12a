/**
 * `xenbridge hookd`: the resident vif hook service. hooks/vif-xenbridge hands it each event
 * through the spool (see hookd-spool.ts) instead of starting Node; the service runs the events
 * with the same library code and the same transaction lock as apply, and queued `online` events
 * go to the kernel together (vif-batch.ts). One service per run directory, held by a lock of its
 * own for its lifetime; its pid file lets the hook tell a live service from a dead one.
 */
import { constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { XbError } from '../errors.js';
import { startTime, withLock } from '../txn/lock.js';
import { ensureDir, removeFile, writeDurable } from '../txn/store.js';
import { parseHotplug, validXenbusPath } from './hotplug-env.js';
import { claim, listSpool, reply, requeueDead, spoolDir, unclaim, type Claimed, type HookRequest } from './hookd-spool.js';
import { asError, fail, prepareBatch, runPrepared, topology, type HookdOptions } from './hookd-batch.js';
import { collectGuards } from './vif-guard.js';
import { flushSyslog } from './hookd-log.js';

export type { HookdOptions } from './hookd-batch.js';

/** Long enough that a burst of events (a boot storm, a migration) is over; short enough that few guards wait. */
const COLLECT_IDLE_MS = 2000;
/** The collection only tries the lock: whoever holds it, the next quiet moment will do. */
const COLLECT_LOCK_MS = 200;
/**
 * A batch that saw more events come while its first were read waits, before its transaction, for
 * the doorbell to be quiet this long: a storm still arriving then goes to the kernel in one
 * transaction, not one per arrival. A lone event sees none come and waits for nothing.
 */
const SETTLE_MS = 20;
/** The longest a batch waits for a storm to settle: a steady stream of events does not hold back the first. */
const SETTLE_MAX_MS = 500;

export interface Hookd {
  /** Resolves once the service has stopped (after stop()). */
  done: Promise<void>;
  /** Stops taking events, finishes the batch under way, hands queued events back, and ends. */
  stop(): void;
}

const keyOf = (r: HookRequest): string => `${r.env.XENBUS_PATH ?? ''}|${r.env.vif ?? r.env.INTERFACE ?? ''}`;

const serve = (o: HookdOptions, spool: string, fifo: string): Hookd => {
  const queue: Claimed[] = [];
  let busy = false;
  let stopping = false;
  let ended: () => void = () => undefined;
  const done = new Promise<void>((resolve) => { ended = resolve; });

  const refuse = async (r: Claimed): Promise<void> => {
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

  /** Events queued so far, and when the last came (monotonic): a batch knows whether a storm is still arriving. */
  let arrivals = 0;
  let lastArrival = 0;
  const settle = async (until: number): Promise<void> => {
    for (let at = Math.min(lastArrival + SETTLE_MS, until); performance.now() < at && !stopping; at = Math.min(lastArrival + SETTLE_MS, until)) {
      await new Promise((resolve) => setTimeout(resolve, at - performance.now()));
    }
  };

  /** Takes up to `room` queued events, one per vif: the same vif twice in one transaction would plan against a state its twin changes. */
  const dequeue = (seen: Set<string>, room: number): Claimed[] => {
    const take: Claimed[] = [];
    for (let i = 0; i < queue.length && take.length < room;) {
      const r = queue[i] as Claimed;
      if (seen.has(keyOf(r))) { i++; continue; }
      seen.add(keyOf(r));
      take.push(r);
      queue.splice(i, 1);
    }
    return take;
  };

  const work = async (): Promise<void> => {
    if (busy || queue.length === 0) return;
    busy = true;
    if (idle) clearTimeout(idle);
    idle = undefined;
    try {
      while (queue.length > 0 && !stopping) {
        const seen = new Set<string>();
        const until = performance.now() + SETTLE_MAX_MS;
        let heard = arrivals;
        const take = dequeue(seen, o.batchMax);
        let taken = take.length;
        let p = await prepareBatch(o, spool, take);
        // Events came while these were read: a storm still arriving joins this transaction once it settles.
        while (arrivals > heard && taken < o.batchMax && !stopping) {
          await settle(until);
          heard = arrivals;
          const more = dequeue(seen, o.batchMax - taken);
          if (more.length === 0) break;
          taken += more.length;
          p = await prepareBatch(o, spool, more, p);
        }
        // Events that may wait longer for the lock than the batch did go first in the next one, in their order.
        await runPrepared(o, spool, p, (back) => queue.unshift(...back));
        await flushSyslog();
      }
    } finally {
      busy = false;
      if (stopping) finish();
      else arm();
    }
  };

  const scan = (): void => {
    if (stopping) return;
    for (const id of listSpool(spool, '.req')) {
      if (queue.some((q) => q.id === id)) continue;
      const r = claim(spool, id);
      if (r === undefined) continue;
      if (typeof r === 'string') reply(spool, id, 1, `xenbridge: ${r}`);
      else if (queue.length >= o.queueMax) void refuse(r);
      else {
        queue.push(r);
        arrivals++;
        lastArrival = performance.now();
      }
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

  // Events a killed service had taken run again, in their order among the new ones: each is
  // idempotent, and its journal is undone first.
  requeueDead(spool);
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
