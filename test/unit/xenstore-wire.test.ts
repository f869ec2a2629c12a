// xenstored's socket protocol against a stand-in xenstored on a unix socket (the real one is in the
// Xen beds): the vif's keys read, its status written in order, errors and a silent daemon.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Runner } from '../../src/exec/runner.js';
import { readVifKeys, readVifKeysMany, writeConnected, writeStatus, type Xenstore } from '../../src/state/xenstore.js';
import { decodeMessages, encodeMessage, exchange, NoSocket, readRequest, XS_DIRECTORY, XS_ERROR, XS_READ, XS_WRITE } from '../../src/state/xenstore-wire.js';

let dir: string;
let server: Server | undefined;
/** The stand-in's store, and every request it got as "TYPE path[=value]". */
let store: Map<string, string>;
let log: string[];

/** A xenstored that answers DIRECTORY, READ and WRITE from `store`; `answer` can replace an answer. */
const serve = (answer?: (type: number, body: string) => [number, string] | 'silent' | undefined): Promise<string> => new Promise((resolve) => {
  const path = join(dir, 'socket');
  server = createServer((c) => {
    let buf: Buffer = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      const { messages, rest } = decodeMessages(Buffer.concat([buf, d]));
      buf = rest;
      for (const m of messages) {
        const body = m.payload.toString('utf8');
        const [path, value] = [body.slice(0, body.indexOf('\0')), body.slice(body.indexOf('\0') + 1)];
        log.push(`${m.type} ${path}${m.type === XS_WRITE ? `=${value}` : ''}`);
        const given = answer?.(m.type, body);
        if (given === 'silent') continue;
        let [type, out] = given ?? [m.type, ''];
        if (!given) {
          if (m.type === XS_WRITE) { store.set(path, value); out = 'OK\0'; }
          else if (m.type === XS_READ) { if (store.has(path)) out = store.get(path)!; else [type, out] = [XS_ERROR, 'ENOENT\0']; }
          else if (m.type === XS_DIRECTORY) {
            const kids = [...store.keys()].filter((k) => k.startsWith(`${path}/`)).map((k) => k.slice(path.length + 1).split('/')[0]);
            if (kids.length === 0) [type, out] = [XS_ERROR, 'ENOENT\0'];
            else out = [...new Set(kids)].map((k) => `${k}\0`).join('');
          }
        }
        c.write(encodeMessage({ type, reqId: m.reqId, payload: Buffer.from(out) }));
      }
    });
  });
  server.listen(path, () => resolve(path));
});

/** No tool may run: every call goes over the socket. */
const noTools: Runner = new Proxy({} as Runner, { get: () => () => { throw new Error('a xenstore tool ran'); } });
const xs = (socket: string, timeoutMs = 2000): Xenstore => ({ runner: noTools, timeoutMs, socket });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xenbridge-xs-'));
  store = new Map();
  log = [];
});
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('xenstored over its socket', () => {
  it('frames a message as xs_wire.h does and reads back split and joined messages', () => {
    const m = encodeMessage({ type: XS_READ, reqId: 7, payload: Buffer.from('a/b\0') });
    expect(m.toString('hex')).toBe('02000000' + '07000000' + '00000000' + '04000000' + '612f6200');
    const two = Buffer.concat([m, encodeMessage({ type: XS_WRITE, reqId: 8, payload: Buffer.from('x\0y') })]);
    const first = decodeMessages(two.subarray(0, 25));
    expect(first.messages.map((x) => x.reqId)).toEqual([7]);
    const second = decodeMessages(Buffer.concat([first.rest, two.subarray(25)]));
    expect([second.messages.map((x) => x.payload.toString()), second.rest.length]).toEqual([['x\0y'], 0]);
  });

  it('reads the vif keys that exist, in one connection, and writes the status last', async () => {
    const s = xs(await serve());
    store.set('backend/vif/3/0/bridge', 'xenbr0').set('backend/vif/3/0/mac', '00:16:3e:00:00:03').set('backend/vif/3/0/frontend', '/x');
    expect(await readVifKeys(s, 'backend/vif/3/0')).toEqual({ bridge: 'xenbr0', mac: '00:16:3e:00:00:03' });
    await writeStatus(s, 'backend/vif/3/0', 'connected', [['/local/domain/3/device/vif/0/mtu', '9000']]);
    await writeConnected(s, [{ base: 'backend/vif/4/0', before: [] }, { base: 'backend/vif/5/0', before: [] }]);
    await writeStatus(s, 'backend/vif/6/0', { error: 'vif6.0 online: no such bridge' });
    expect(log.filter((l) => l.startsWith(`${XS_WRITE} `))).toEqual([
      `${XS_WRITE} /local/domain/3/device/vif/0/mtu=9000`, `${XS_WRITE} backend/vif/3/0/hotplug-status=connected`,
      `${XS_WRITE} backend/vif/4/0/hotplug-status=connected`, `${XS_WRITE} backend/vif/5/0/hotplug-status=connected`,
      `${XS_WRITE} backend/vif/6/0/hotplug-error=vif6.0 online: no such bridge`, `${XS_WRITE} backend/vif/6/0/hotplug-status=error`,
    ]);
  });

  it('many vifs over the socket: no tool runs, and a vif that is gone fails alone', async () => {
    const s = xs(await serve());
    store.set('backend/vif/3/0/bridge', 'xenbr0').set('backend/vif/4/0/mac', '00:16:3e:00:00:04');
    const many = await readVifKeysMany(s, ['backend/vif/3/0', 'backend/vif/4/0', 'backend/vif/5/0']);
    expect([many.get('backend/vif/3/0'), many.get('backend/vif/4/0')]).toEqual([{ bridge: 'xenbr0' }, { mac: '00:16:3e:00:00:04' }]);
    expect(many.get('backend/vif/5/0')).toMatchObject({ kind: 'xenstore', message: 'reading backend/vif/5/0 failed: ENOENT' });
  });

  it.each([
    ['a vif that is not in xenstore', () => undefined, 'reading backend/vif/3/0 failed: ENOENT'],
    ['a key dom0 may not read', (t: number, b: string) => (t === XS_READ && b.startsWith('backend/vif/3/0/mac') ? [XS_ERROR, 'EACCES\0'] as [number, string] : undefined), 'reading backend/vif/3/0/mac failed: EACCES'],
    ['a value with a newline', (t: number, b: string) => (t === XS_READ && b.startsWith('backend/vif/3/0/bridge') ? [XS_READ, 'xenbr0\nvif9.0'] as [number, string] : undefined), 'backend/vif/3/0/bridge holds a newline'],
    ['a xenstored that never answers', (t: number) => (t === XS_READ ? 'silent' as const : undefined), 'xenstored did not answer within 0.3 s'],
  ])('%s: one clear xenstore error', async (what, answer, want) => {
    const s = xs(await serve(answer), 300);
    if (!what.startsWith('a vif that')) store.set('backend/vif/3/0/bridge', 'xenbr0').set('backend/vif/3/0/mac', '00:16:3e:00:00:03');
    await expect(readVifKeys(s, 'backend/vif/3/0')).rejects.toMatchObject({ kind: 'xenstore', message: expect.stringContaining(want) });
  });

  it('no socket, or nothing listening on it: NoSocket, so the tools run instead', async () => {
    await expect(exchange(join(dir, 'none'), [readRequest('a')], 500)).rejects.toBeInstanceOf(NoSocket);
    // A socket file left by a daemon that is gone (here a plain file) refuses the connection.
    writeFileSync(join(dir, 'stale'), '');
    await expect(exchange(join(dir, 'stale'), [readRequest('a')], 500)).rejects.toBeInstanceOf(NoSocket);
  });
});
