/**
 * Who runs an event, the hook service or the hook itself, and when: every change of hands is a
 * rename only one side wins, so an event runs once, in the order the hooks wrote them, and never
 * after its hook stopped waiting. The hook's ticker and its renames are stepped by PATH shims.
 */
import { execa, type ResultPromise } from 'execa';
import { mkdirSync, readFileSync, readlinkSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../helpers/netns.js';
import { sh } from '../helpers/sh.js';
import type { XenBed } from '../helpers/vif.js';
import { appliedBed, hookProcess, holdLock, spoolFiles, startService, waitFor, type Service } from '../helpers/hookd.js';
import { gate, shimPath, ticker, type Gate, type Shim, type Ticker } from '../helpers/shims.js';
import { formatRequest } from '../../src/xen/hookd-spool.js';

const TOPO = 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    mtu: 1500\n';

let sb: Sandbox;
let xen: XenBed;
let svc: Service | undefined;
let shims: Shim[];

const master = async (dev: string): Promise<string | undefined> => JSON.parse(await sb.ip(`-j link show dev ${dev}`))[0]?.master;
const vif = async (d: number): Promise<void> => {
  await xen.makeVif(d, 0);
  xen.setVif(d, 0, { bridge: 'xenbr0' });
};
const logged = (what: RegExp): string[] => readFileSync(xen.env.XENBRIDGE_HOTPLUG_LOG ?? '', 'utf8').split('\n').filter((l) => what.test(l));
let n = 0;
const shimDir = (): string => join(sb.runDir, `shim${n++}`);

beforeEach(async () => {
  ({ sb, xen } = await appliedBed(TOPO));
  svc = undefined;
  shims = [];
});
afterEach(async () => {
  for (const s of shims) s.end();
  if (svc && svc.proc.exitCode === null) {
    svc.proc.kill('SIGCONT');
    await svc.stop();
  }
  await xen.cleanup();
  await sb.cleanup();
});

describe('handing an event over between the hook and the service', () => {
  it('a service that does not take the event within two ticks (stopped, hung): the hook takes it back and runs it; the service never does', async () => {
    const t = ticker(shimDir());
    shims.push(t);
    svc = await startService(sb, xen);
    await vif(1);
    svc.proc.kill('SIGSTOP');
    const hook = hookProcess(xen, 'online', 1, 0, { PATH: shimPath(xen.env.PATH ?? '', t) });
    await waitFor('the request', () => spoolFiles(svc as Service, '.req').length === 1);
    for (let i = 0; i < 3 && hook.exitCode === null; i++) await t.tick(hook);
    await waitFor('the hook done by itself', () => hook.exitCode !== null);
    expect([(await hook).exitCode, xen.read(1, 0, 'hotplug-status'), await master('vif1.0')]).toEqual([0, 'connected', 'xenbr0']);
    svc.proc.kill('SIGCONT');
    expect(spoolFiles(svc, '.req')).toEqual([]);
    expect(await svc.stop()).toBe(0);
    expect(svc.output()).not.toContain('vif1.0');
    expect(logged(/online vif1\.0/)).toHaveLength(1);
  }, 30_000);

  /** A service took the event and was killed; the hook, three ticks later, takes it back: its rename waits at the gate. */
  const deadTaker = async (d: number, t: Ticker, g: Gate): Promise<{ hook: ResultPromise; lock: { release(): Promise<void> }; reply: string }> => {
    svc = await startService(sb, xen);
    const lock = await holdLock(sb);
    await vif(d);
    const hook = hookProcess(xen, 'online', d, 0, { PATH: shimPath(xen.env.PATH ?? '', t, g) });
    await waitFor('the event taken', () => spoolFiles(svc as Service, '.work').length === 1);
    const reply = join(svc.spool, spoolFiles(svc, '.reply')[0] ?? '?');
    svc.proc.kill('SIGKILL');
    await svc.proc;
    for (let i = 0; i < 3; i++) await t.tick(hook);
    await waitFor('the hook\'s rename', () => g.reached());
    return { hook, lock, reply };
  };

  it('a service restarted while the hook takes back the event a dead one had taken: the hook wins the rename, the service passes over it', async () => {
    const t = ticker(shimDir());
    const g = gate(shimDir(), 'mv', '*.work');
    shims.push(t, g);
    const { hook, lock } = await deadTaker(2, t, g);
    // The new service queues the event again; the hook's rename, let go, takes it before the service can start it.
    svc = await startService(sb, xen);
    g.open();
    await waitFor('the hook\'s rename done', () => spoolFiles(svc as Service, '.work').length === 0);
    await lock.release();
    expect((await hook).exitCode).toBe(0);
    await waitFor('the service passing over it', () => (svc as Service).output().includes('vif2.0'));
    expect(svc.output()).toContain('hookd: vif2.0 online: taken back by its hook before it started: the hook runs it, or gave up on it');
    expect([xen.read(2, 0, 'hotplug-status'), await master('vif2.0')]).toEqual(['connected', 'xenbr0']);
    expect(logged(/online vif2\.0/)).toHaveLength(1);
  }, 30_000);

  it('a service restarted while the hook takes back the event a dead one had taken: the service starts it first, and the hook leaves it to that live service', async () => {
    const t = ticker(shimDir());
    const g = gate(shimDir(), 'mv', '*.work');
    const ip = gate(shimDir(), 'ip');
    shims.push(t, g, ip);
    const { hook, lock, reply } = await deadTaker(6, t, g);
    // The new service starts the event (under the lock) and waits at its first ip, reading the links.
    svc = await startService(sb, xen, [], { PATH: shimPath(xen.env.PATH ?? '', ip) });
    await lock.release();
    await waitFor('the service at work on it', () => ip.reached());
    expect(spoolFiles(svc, '').filter((f) => f.includes('.run'))).toHaveLength(1);
    // The hook's rename of ID.work fails; it must not take the started event from a live service.
    g.open();
    const waiting = (): boolean => {
      try {
        return readlinkSync(`/proc/${hook.pid}/fd/0`) === reply;
      } catch {
        return false;
      }
    };
    await waitFor('the hook back at its wait, or the event taken', () => waiting() || !spoolFiles(svc as Service, '').some((f) => f.includes('.run')));
    ip.open();
    expect((await hook).exitCode).toBe(0);
    expect([xen.read(6, 0, 'hotplug-status'), await master('vif6.0')]).toEqual(['connected', 'xenbr0']);
    expect(svc.output()).toContain('online vif6.0 -> xenbr0');
    expect(logged(/online vif6\.0/)).toHaveLength(1);
  }, 30_000);

  it('a hook that stops waiting (36 s) withdraws the event: the service never applies it afterwards', async () => {
    const t = ticker(shimDir());
    shims.push(t);
    svc = await startService(sb, xen);
    const lock = await holdLock(sb);
    await vif(3);
    const hook = hookProcess(xen, 'online', 3, 0, { PATH: shimPath(xen.env.PATH ?? '', t) });
    await waitFor('the event taken', () => spoolFiles(svc as Service, '.work').length === 1);
    for (let i = 0; i < 18 && hook.exitCode === null; i++) await t.tick(hook);
    const r = await hook;
    expect([r.exitCode, r.stderr]).toEqual([1, 'vif-xenbridge: the hook service did not start online of vif3.0 within 36 s (it waited for the lock); withdrawn, not applied']);
    await lock.release();
    await waitFor('the service passing over it', () => (svc as Service).output().includes('vif3.0 online: taken back by its hook'));
    expect([xen.read(3, 0, 'hotplug-status'), await master('vif3.0')]).toEqual([undefined, undefined]);
    expect(spoolFiles(svc, '').sort()).toEqual(['fifo', 'lock', 'pid']);
  }, 30_000);

  it('an event that waited in the queue waits for the lock only for what is left of its hook\'s patience: answered with the holder', async () => {
    svc = await startService(sb, xen);
    const lock = await holdLock(sb);
    await vif(4);
    // A request as the hook writes it, 27 s ago (behind a batch that waited for the lock): 3 s are left of the 30 s.
    const id = '0000aaaa-0000-4000-8000-000000000004';
    const at = join(svc.spool, id);
    await sh(`mkfifo -m 600 ${at}.reply`);
    const answer = execa('sh', ['-c', 'exec 3<>"$1"; read -r line <&3; printf %s "$line"', 'sh', `${at}.reply`], { reject: false });
    mkdirSync(join(sb.runDir, 'tmp'));
    const tmp = join(sb.runDir, 'tmp', 'req');
    writeFileSync(tmp, formatRequest({ argv: ['online', 'type_if=vif'], env: { vif: 'vif4.0', XENBUS_PATH: 'backend/vif/4/0' } }));
    const then = Date.now() / 1000 - 27;
    utimesSync(tmp, then, then);
    renameSync(tmp, `${at}.req`);
    // The error names the wait the service allowed: what was left (3 s at most), not its own full 20 s.
    const got = await answer;
    expect(got.stdout).toMatch(/^1 vif-xenbridge: domain 4: vif4\.0 online: pid \d+ \(60\) has held \S+ for over [0-3] s/);
    expect(xen.read(4, 0, 'hotplug-error')).toMatch(/^vif4\.0 online: pid \d+ \(60\) has held /);
    await lock.release();
    expect(await master('vif4.0')).toBeUndefined();
  }, 30_000);

  it('events wait in the order their hooks wrote them: an offline never overtakes its online', async () => {
    const t = ticker(shimDir());
    shims.push(t);
    svc = await startService(sb, xen);
    await vif(5);
    svc.proc.kill('SIGSTOP');
    const env = { PATH: shimPath(xen.env.PATH ?? '', t) };
    const on = hookProcess(xen, 'online', 5, 0, env);
    await waitFor('the online written', () => spoolFiles(svc as Service, '.req').length === 1);
    const off = hookProcess(xen, 'offline', 5, 0, env);
    await waitFor('the offline written', () => spoolFiles(svc as Service, '.req').length === 2);
    svc.proc.kill('SIGCONT');
    expect([(await on).exitCode, (await off).exitCode]).toEqual([0, 0]);
    expect(await master('vif5.0')).toBeUndefined();
    expect(logged(/vif5\.0/).map((l) => / (online|offline) /.exec(l)?.[1])).toEqual(['online', 'offline']);
  }, 30_000);
});
