/**
 * The hook service's spool, <run dir>/hookd/: what hooks/vif-xenbridge (plain /bin/sh) and the
 * service say to each other. A hook writes its event to ID.req (ending in an `end` line, so a half-
 * written one is never taken), makes the FIFO ID.reply and rings the doorbell FIFO `fifo` with its
 * ID. Every change of hands is a rename, which only one side can win: the service queues the event
 * (ID.req -> ID.work) and, under the transaction lock, starts it (ID.work -> ID.run.PID.START, named
 * for the service, so the hook takes it only from a service that is gone: a pid and start time
 * never come back); the hook takes it back to run itself (-> ID.own, while no service lives) or
 * withdraws it when it stops waiting (removes ID.work). So an event runs once, and never after its
 * hook gave up. ID.work and ID.run.* outlive a crash of the service: the next one queues them again
 * (every event is idempotent). The reply is one line: "<exit code> <text>", the text's backslashes
 * and newlines escaped for printf %b.
 */
import { closeSync, constants, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { namesIn, readRegular } from '../exec/files.js';
import { join } from 'node:path';
import { removeFile } from '../txn/store.js';
import { startTime } from '../txn/lock.js';
import { shown } from '../errors.js';

export const spoolDir = (runDir: string): string => join(runDir, 'hookd');

export const REQUEST_MAGIC = 'xbhook1';

export interface HookRequest {
  id: string;
  argv: string[];
  env: { vif?: string; INTERFACE?: string; XENBUS_PATH?: string };
}

/** A request the service holds. */
export interface Claimed extends HookRequest {
  /** When the hook wrote it, on the monotonic clock (performance.now()): its hook's patience runs from there. */
  arrived: number;
  /** Started: the name of its file (ID.run.PID.START), which the hook takes only once this service is gone. */
  running?: string;
}

const ID_RE = /^[0-9a-f-]{8,64}$/;

/** A request file's text, as the hook writes it: magic, argc, argv, vif, INTERFACE, XENBUS_PATH, end. */
export const formatRequest = (r: Omit<HookRequest, 'id'>): string =>
  [REQUEST_MAGIC, String(r.argv.length), ...r.argv, r.env.vif ?? '', r.env.INTERFACE ?? '', r.env.XENBUS_PATH ?? '', 'end', ''].join('\n');

/** undefined: not (yet) a whole request. A whole one that is malformed is a string saying why. */
export const parseRequest = (id: string, text: string): HookRequest | string | undefined => {
  if (!text.endsWith('\nend\n')) return undefined;
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== REQUEST_MAGIC) return `not a hook request (first line ${shown(lines[0] ?? '')})`;
  const argc = Number(lines[1]);
  if (!/^\d{1,2}$/.test(lines[1] ?? '') || lines.length !== argc + 6) return 'malformed hook request (an argument or variable with a newline?)';
  const [vif, INTERFACE, XENBUS_PATH] = lines.slice(2 + argc, 5 + argc);
  const set = (v: string | undefined): string | undefined => (v === '' ? undefined : v);
  return { id, argv: lines.slice(2, 2 + argc), env: { vif: set(vif), INTERFACE: set(INTERFACE), XENBUS_PATH: set(XENBUS_PATH) } };
};

const tryRename = (from: string, to: string): boolean => {
  try {
    renameSync(from, to);
    return true;
  } catch {
    return false;
  }
};

const mtimeNs = (path: string): bigint | undefined => {
  try {
    return statSync(path, { bigint: true }).mtimeNs;
  } catch {
    return undefined;
  }
};

/**
 * IDs of the files ending in ext (".req"), in the order their hooks wrote them: the names are
 * random, and xl's offline of a vif must not overtake its online. A rename keeps the time.
 */
export const listSpool = (spool: string, ext: string): string[] => {
  const ids = namesIn(spool).filter((n) => n.endsWith(ext)).map((n) => n.slice(0, -ext.length)).filter((id) => ID_RE.test(id));
  const at = new Map(ids.map((id) => [id, mtimeNs(join(spool, `${id}${ext}`)) ?? 0n]));
  return ids.sort((a, b) => {
    const d = (at.get(a) ?? 0n) - (at.get(b) ?? 0n);
    return d < 0n ? -1 : d > 0n ? 1 : a < b ? -1 : a > b ? 1 : 0;
  });
};

/** This service, as the hook's alive() and the pid file name it: pid and start time. */
const self = `${process.pid}.${startTime(process.pid) ?? '?'}`;
const runName = (id: string): string => `${id}.run.${self}`;
const DEAD_RE = /^([0-9a-f-]{8,64})\.(?:work|run\.\d+\.[^/]+)$/;

/** Events a dead service had queued or started go back to ID.req, for this service or their hooks to take like new ones. */
export const requeueDead = (spool: string): void => {
  for (const n of namesIn(spool)) {
    const id = DEAD_RE.exec(n)?.[1];
    if (id !== undefined) tryRename(join(spool, n), join(spool, `${id}.req`));
  }
};

/** Takes a whole request for the service: undefined when it is not whole or the hook took it back. */
export const claim = (spool: string, id: string): Claimed | string | undefined => {
  const path = join(spool, `${id}.req`);
  let text: string;
  let wrote: bigint | undefined;
  try {
    // A request is a small file the hook wrote: anything else in its place (a FIFO would hang the service) is not one.
    const t = readRegular(path, 64 << 10);
    if (t === undefined) return undefined;
    text = t;
    wrote = mtimeNs(path);
  } catch {
    return undefined;
  }
  const req = parseRequest(id, text);
  if (req === undefined || !tryRename(path, join(spool, `${id}.work`))) return undefined;
  if (typeof req === 'string') return req;
  // The wall clock only for the age the file shows; the monotonic one from here on.
  const age = wrote === undefined ? 0 : Math.max(0, Date.now() - Number(wrote / 1_000_000n));
  return { ...req, arrived: performance.now() - age };
};

/** The hook still waits for its answer: its FIFO has a reader (a hook killed by xl leaves none within a tick). */
const hookWaits = (spool: string, id: string): boolean => {
  try {
    closeSync(openSync(join(spool, `${id}.reply`), constants.O_WRONLY | constants.O_NONBLOCK));
    return true;
  } catch {
    return false;
  }
};

/**
 * Under the transaction lock, before the event changes anything: false when its hook has taken it
 * back (it runs the event itself), withdrew it or is gone. Then the event is not run at all.
 */
export const begin = (spool: string, r: Claimed): boolean => {
  if (r.running) return true;
  const running = runName(r.id);
  if (!tryRename(join(spool, `${r.id}.work`), join(spool, running))) return false;
  if (!hookWaits(spool, r.id)) {
    removeFile(join(spool, running));
    removeFile(join(spool, `${r.id}.reply`));
    return false;
  }
  r.running = running;
  return true;
};

/** Gives a queued event back, for the next service or for the hook to run directly. */
export const unclaim = (spool: string, id: string): void => {
  tryRename(join(spool, `${id}.work`), join(spool, `${id}.req`));
};

export const escapeReply = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\r?\n/g, '\\n');

/**
 * Answers the hook, if it still waits (its FIFO is open), and ends the event. The write is one
 * write(2) of at most PIPE_BUF bytes, so the hook reads it whole.
 */
/** A reply line of at most 4000 bytes (PIPE_BUF is 4096) whose cut splits no escape and no character. */
export const replyLine = (code: number, text: string): string => {
  let line = `${code} ${escapeReply(text)}`;
  if (Buffer.byteLength(line) > 4000) {
    line = Buffer.from(line).subarray(0, 4000).toString('utf8').replace(/\uFFFD$/, '');
    if (/(^|[^\\])(\\\\)*\\$/.test(line)) line = line.slice(0, -1);
  }
  return `${line}\n`;
};

export const reply = (spool: string, id: string, code: number, text: string): void => {
  const line = replyLine(code, text);
  try {
    const fd = openSync(join(spool, `${id}.reply`), constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      writeSync(fd, line);
    } finally {
      closeSync(fd);
    }
  } catch {
    // The hook is gone (xl killed it, or it gave up): the event's outcome is in xenstore and the logs.
  }
  // The hook holds its FIFO open and reads on: the name can go now, which spares the hook an rm.
  removeFile(join(spool, `${id}.reply`));
  removeFile(join(spool, runName(id)));
  removeFile(join(spool, `${id}.work`));
};
