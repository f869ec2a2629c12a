/**
 * xenstored's own socket, spoken directly: a read or write costs a message, not a process. Under
 * emulation a process start costs as much as a hundred batch lines, and the vif hook reads the
 * vif's keys and writes its status on every event. The wire format (xs_wire.h): a header of four
 * native-endian 32-bit words (type, request id, transaction id, payload length), then the payload;
 * paths and values are NUL-separated, an error answer is XS_ERROR with the errno's name.
 */
import { existsSync } from 'node:fs';
import { Socket } from 'node:net';
import { endianness } from 'node:os';

/** Where xenstored listens when it runs in dom0 (the tools connect there first, as we do). */
export const XENSTORED_SOCKET = '/run/xenstored/socket';

export const XS_DIRECTORY = 1;
export const XS_READ = 2;
export const XS_WRITE = 11;
export const XS_ERROR = 16;

const HEADER = 16;
/** XENSTORE_PAYLOAD_MAX: xenstored refuses anything longer. */
export const PAYLOAD_MAX = 4096;

export interface WireMessage {
  type: number;
  reqId: number;
  payload: Buffer;
}

const le = endianness() === 'LE';

export const encodeMessage = (m: WireMessage): Buffer => {
  const h = Buffer.alloc(HEADER);
  const put = (v: number, at: number): number => (le ? h.writeUInt32LE(v, at) : h.writeUInt32BE(v, at));
  put(m.type, 0);
  put(m.reqId, 4);
  put(0, 8);
  put(m.payload.length, 12);
  return Buffer.concat([h, m.payload]);
};

/** The whole messages at the start of buf, and what is left of it. */
export const decodeMessages = (buf: Buffer): { messages: WireMessage[]; rest: Buffer } => {
  const messages: WireMessage[] = [];
  let at = 0;
  const get = (o: number): number => (le ? buf.readUInt32LE(at + o) : buf.readUInt32BE(at + o));
  while (buf.length - at >= HEADER) {
    const len = get(12);
    if (buf.length - at - HEADER < len) break;
    messages.push({ type: get(0), reqId: get(4), payload: buf.subarray(at + HEADER, at + HEADER + len) });
    at += HEADER + len;
  }
  return { messages, rest: buf.subarray(at) };
};

/** One request's answer: its payload, or the errno name xenstored gave (ENOENT, EACCES...). */
export type WireAnswer = { ok: true; payload: Buffer } | { ok: false; errno: string };

export type WireRequest = { type: number; payload: Buffer };

export const readRequest = (path: string): WireRequest => ({ type: XS_READ, payload: Buffer.from(`${path}\0`) });
export const directoryRequest = (path: string): WireRequest => ({ type: XS_DIRECTORY, payload: Buffer.from(`${path}\0`) });
export const writeRequest = (path: string, value: string): WireRequest => ({ type: XS_WRITE, payload: Buffer.concat([Buffer.from(`${path}\0`), Buffer.from(value)]) });

/** A directory answer's names. */
export const names = (payload: Buffer): string[] => payload.toString('utf8').split('\0').filter((n) => n !== '');

/** Why the socket could not be used at all (then the caller runs the xenstore-* tools instead). */
export class NoSocket extends Error {}

/**
 * Sends the requests in order over one connection, each after the previous one's answer, and
 * gives their answers. Rejects with NoSocket when nothing listens at `path`, with an Error when
 * xenstored does not answer within timeoutMs or the connection breaks.
 */
export const exchange = (path: string, reqs: WireRequest[], timeoutMs: number): Promise<WireAnswer[]> => new Promise((resolve, reject) => {
  if (!existsSync(path)) return reject(new NoSocket(`no ${path}`));
  const answers: WireAnswer[] = [];
  let buf: Buffer = Buffer.alloc(0);
  let connected = false;
  let settled = false;
  const sock = new Socket();
  const end = (e?: Error): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    sock.destroy();
    if (e) reject(e);
    else resolve(answers);
  };
  const timer = setTimeout(() => end(new Error(`xenstored did not answer within ${timeoutMs / 1000} s on ${path}`)), timeoutMs);
  const send = (): void => {
    const r = reqs[answers.length];
    if (r === undefined) return end();
    if (r.payload.length > PAYLOAD_MAX) return end(new Error(`a xenstore request of ${r.payload.length} bytes (at most ${PAYLOAD_MAX})`));
    sock.write(encodeMessage({ type: r.type, reqId: answers.length + 1, payload: r.payload }));
  };
  sock.on('connect', () => { connected = true; send(); });
  sock.on('data', (d: Buffer) => {
    const { messages, rest } = decodeMessages(Buffer.concat([buf, d]));
    buf = rest;
    for (const m of messages) {
      // Only answers to our own requests come: this connection sets no watch.
      if (m.reqId !== answers.length + 1) return end(new Error(`xenstored answered request ${m.reqId}, expected ${answers.length + 1}`));
      answers.push(m.type === XS_ERROR ? { ok: false, errno: m.payload.toString('utf8').replace(/\0.*$/s, '') } : { ok: true, payload: m.payload });
      send();
    }
  });
  sock.on('error', (e: NodeJS.ErrnoException) => end(connected ? e : new NoSocket(e.message)));
  sock.on('close', () => end(new Error(`xenstored closed ${path} after ${answers.length} of ${reqs.length} answers`)));
  sock.connect(path);
});
