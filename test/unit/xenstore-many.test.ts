// Many vifs' keys at once (the hook service's batches): through the xenstore tools (here their
// file-backed doubles, run for real) two processes for the lot, the same keys as one vif at a time,
// and a vif that is gone fails alone.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunner, type Runner } from '../../src/exec/runner.js';
import { readVifKeys, readVifKeysMany, writeStatus, type Xenstore } from '../../src/state/xenstore.js';

const TOOLS = fileURLToPath(new URL('../fixtures/xenstore', import.meta.url));
let dir: string;
let ran: string[];

/** The real runner, counting what it starts. */
const counting = (r: Runner): Runner => ({ ...r, residentNft: r.residentNft, netns: r.netns, run: (cmd, args, o) => { ran.push(cmd); return r.run(cmd, args, o); } });

const tools = (path = TOOLS, timeoutMs = 5000): Xenstore => ({
  runner: counting(createRunner(undefined, { env: { PATH: `${path}:/usr/bin:/bin`, XENSTORE_DIR: dir } })),
  timeoutMs,
});

const put = (path: string, value: string): void => {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), value);
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xenbridge-xsmany-'));
  ran = [];
  for (const d of [3, 4, 5]) {
    put(`backend/vif/${d}/0/bridge`, `br${d}`);
    put(`backend/vif/${d}/0/mac`, `00:16:3e:00:00:0${d}`);
    put(`backend/vif/${d}/0/frontend`, `/local/domain/${d}/device/vif/0`);
  }
  put('backend/vif/4/0/vlan', '10');
  put('backend/vif/5/0/ip', '192.0.2.5 2001:db8::5');
  mkdirSync(join(dir, 'backend/vif/6/0'), { recursive: true });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('readVifKeysMany through the xenstore tools', () => {
  it('reads every vif with one list and one read, the same keys as one vif at a time', async () => {
    const bases = [3, 4, 5, 6].map((d) => `backend/vif/${d}/0`);
    const many = await readVifKeysMany(tools(), [...bases, bases[0] as string]);
    expect(ran).toEqual(['xenstore-list', 'xenstore-read']);
    const one = await Promise.all(bases.map((b) => readVifKeys(tools(), b)));
    expect(bases.map((b) => many.get(b))).toEqual(one);
    expect(many.get('backend/vif/4/0')).toEqual({ bridge: 'br4', mac: '00:16:3e:00:00:04', vlan: '10' });
    expect(many.get('backend/vif/6/0')).toEqual({});
  });

  it('a vif no longer in xenstore gets its own error; the others are read', async () => {
    const many = await readVifKeysMany(tools(), ['backend/vif/3/0', 'backend/vif/9/0', 'backend/vif/5/0']);
    expect(many.get('backend/vif/3/0')).toEqual({ bridge: 'br3', mac: '00:16:3e:00:00:03' });
    expect(many.get('backend/vif/5/0')).toMatchObject({ bridge: 'br5', ip: '192.0.2.5 2001:db8::5' });
    expect(many.get('backend/vif/9/0')).toMatchObject({ kind: 'xenstore', message: expect.stringContaining('backend/vif/9/0') });
  });

  it('keys in one order on both paths; a value with a newline fails its own vif only, as over the socket', async () => {
    put('backend/vif/4/0/bridge', 'br4\nvif9.0');
    const many = await readVifKeysMany(tools(), ['backend/vif/5/0', 'backend/vif/4/0', 'backend/vif/3/0']);
    expect(ran).toEqual(['xenstore-list', 'xenstore-read']);
    expect(many.get('backend/vif/4/0')).toMatchObject({ kind: 'xenstore', message: 'backend/vif/4/0/bridge holds a newline' });
    await expect(readVifKeys(tools(), 'backend/vif/4/0')).rejects.toMatchObject({ message: 'backend/vif/4/0/bridge holds a newline' });
    expect(Object.keys(many.get('backend/vif/5/0') as object)).toEqual(['bridge', 'mac', 'ip']);
    expect(Object.keys(await readVifKeys(tools(), 'backend/vif/5/0'))).toEqual(['bridge', 'mac', 'ip']);
  });

  it('a xenstore-list that hangs: every vif gets the timeout once, not one more per vif', async () => {
    const hung = join(dir, 'hung');
    mkdirSync(hung);
    writeFileSync(join(hung, 'xenstore-list'), '#!/bin/sh\nexec sleep 30\n');
    chmodSync(join(hung, 'xenstore-list'), 0o755);
    const many = await readVifKeysMany(tools(`${hung}:${TOOLS}`, 500), ['backend/vif/3/0', 'backend/vif/4/0', 'backend/vif/5/0']);
    expect(ran).toEqual(['xenstore-list']);
    for (const d of [3, 4, 5]) expect(many.get(`backend/vif/${d}/0`)).toMatchObject({ kind: 'xenstore', message: 'xenstore-list did not answer within 0.5 s (is xenstored running?)' });
  });

  it('a status written through xenstore-write is stored as given, backslashes and all', async () => {
    await writeStatus(tools(), 'backend/vif/3/0', { error: 'vif3.0 online: bridge "br\\n0" is not in the topology' });
    expect(readFileSync(join(dir, 'backend/vif/3/0/hotplug-error'), 'utf8')).toBe('vif3.0 online: bridge "br\\n0" is not in the topology');
    expect(readFileSync(join(dir, 'backend/vif/3/0/hotplug-status'), 'utf8')).toBe('error');
  });

  it('one vif: the one-vif read, nothing more', async () => {
    const many = await readVifKeysMany(tools(), ['backend/vif/4/0']);
    expect(ran).toEqual(['xenstore-list', 'xenstore-read']);
    expect(many.get('backend/vif/4/0')).toEqual({ bridge: 'br4', mac: '00:16:3e:00:00:04', vlan: '10' });
  });
});
