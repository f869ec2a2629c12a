/**
 * The hook service's spool, <run dir>/hookd/: what hooks/vif-xenbridge (plain /bin/sh) and the
 * service say to each other. A hook writes its event to ID.req (ending in an `end` line, so a half-
 * written one is never taken), makes the FIFO ID.reply and rings the doorbell FIFO `fifo` with its
 * ID. Whoever renames ID.req first owns the event: the service (to ID.work) or, when the service is
 * gone, the hook itself (it then runs the event directly). ID.work outlives a crash of the service,
 * so the next one runs the event again (every event is idempotent). The reply is one line:
 * "<exit code> <text>", the text's backslashes and newlines escaped for printf %b.
 */
import { closeSync, constants, openSync, readdirSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { removeFile } from '../txn/store.js';
import { shown } from '../errors.js';

export const spoolDir = (runDir: string): string => join(runDir, 'hookd');

export const REQUEST_MAGIC = 'xbhook1';

export interface HookRequest {
  id: string;
  argv: string[];
  env: { vif?: string; INTERFACE?: string; XENBUS_PATH?: string };
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

/** IDs of the files ending in ext (".req", ".work"), oldest event first as far as the names tell. */
export const listSpool = (spool: string, ext: string): string[] => {
  let names: string[];
  try {
    names = readdirSync(spool);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith(ext)).map((n) => n.slice(0, -ext.length)).filter((id) => ID_RE.test(id));
};

/** Takes a whole request for the service: its text, or undefined when it is not whole or the hook took it back. */
export const claim = (spool: string, id: string, from = '.req'): HookRequest | string | undefined => {
  const path = join(spool, `${id}${from}`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const req = parseRequest(id, text);
  if (req === undefined || !tryRename(path, join(spool, `${id}.work`))) return undefined;
  return req;
};

/** Gives a claimed event back, for the next service or for the hook to run directly. */
export const unclaim = (spool: string, id: string): void => {
  tryRename(join(spool, `${id}.work`), join(spool, `${id}.req`));
};

export const escapeReply = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\r?\n/g, '\\n');

/**
 * Answers the hook, if it still waits (its FIFO is open), and ends the event. The write is one
 * write(2) of at most PIPE_BUF bytes, so the hook reads it whole.
 */
export const reply = (spool: string, id: string, code: number, text: string): void => {
  const line = `${code} ${escapeReply(text)}`.slice(0, 4000) + '\n';
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
  removeFile(join(spool, `${id}.work`));
};
