import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../helpers/netns.js';
import { sh } from '../helpers/sh.js';
import { guestMac, type XenBed } from '../helpers/vif.js';
import { appliedBed, holders, hookProcess, holdLock, spoolFiles, spoolOf, startService, viaHook, waitFor, type Service } from '../helpers/hookd.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const TOPO = 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    mtu: 1500\n';

let sb: Sandbox;
let xen: XenBed;
let svc: Service | undefined;
/** n fake vifs vifD.0 from domain `from` on, in one ip batch, each with bridge=xenbr0 in xenstore. */
const vifs = async (from: number, n: number): Promise<void> => {
  const lines = Array.from({ length: n }, (_, i) => `link add name vif${from + i}.0 type veth peer name p${from + i}`);
  await sh(`printf '%s\\n' ${lines.map((l) => `'${l}'`).join(' ')} | ip -n ${sb.dom0} -batch -`);
  for (let i = 0; i < n; i++) xen.setVif(from + i, 0, { bridge: 'xenbr0' });
};
const master = async (dev: string): Promise<string | undefined> => JSON.parse(await sb.ip(`-j link show dev ${dev}`))[0]?.master;

beforeEach(async () => {
  ({ sb, xen } = await appliedBed(TOPO));
  svc = undefined;
});
afterEach(async () => {
  if (svc && svc.proc.exitCode === null) await svc.stop();
  await xen.cleanup();
  await sb.cleanup();
});

describe('the hook service', () => {
  it('runs online and offline for the hook, with the same answer, status and log as the direct path', async () => {
    svc = await startService(sb, xen);
    await xen.makeVif(1, 0, '192.0.2.50/24');
    xen.setVif(1, 0, { bridge: 'xenbr0', ip: '192.0.2.50' });
    const r = await viaHook(xen, 'online', 1, 0);
    expect([r.code, r.stderr]).toEqual([0, `vif-xenbridge: domain 1: online vif1.0 -> xenbr0, mtu 1500; untagged only, from ${guestMac(1, 0)} 192.0.2.50 only`]);
    expect(xen.read(1, 0, 'hotplug-status')).toBe('connected');
    expect(await master('vif1.0')).toBe('xenbr0');
    expect(svc.output()).toContain('online vif1.0 -> xenbr0');
    const off = await viaHook(xen, 'offline', 1, 0);
    expect([off.code, off.stderr]).toEqual([0, 'vif-xenbridge: domain 1: offline vif1.0']);
    expect(await master('vif1.0')).toBeUndefined();
    xen.setVif(1, 1, { bridge: 'xenbr9' });
    await xen.makeVif(1, 1);
    const bad = await viaHook(xen, 'online', 1, 1);
    expect([bad.code, bad.stderr.split('\n')[0]]).toEqual([1, 'vif-xenbridge: domain 1: vif1.1 online: bridge xenbr9 is not in the topology (bridges: xenbr0)']);
    expect([xen.read(1, 1, 'hotplug-status'), xen.read(1, 1, 'hotplug-error')]).toEqual(['error', 'vif1.1 online: bridge xenbr9 is not in the topology (bridges: xenbr0)']);
    expect(readFileSync(xen.env.XENBRIDGE_HOTPLUG_LOG, 'utf8').split('\n').filter((l) => l !== '')).toHaveLength(3);
    expect(await svc.stop()).toBe(0);
  });

  it('removes the guards offlines left once no event came for a while, under the lock apply takes', async () => {
    svc = await startService(sb, xen);
    await vifs(20, 3);
    for (const d of [20, 21, 22]) expect((await viaHook(xen, 'online', d, 0)).code).toBe(0);
    for (const d of [20, 21]) expect((await viaHook(xen, 'offline', d, 0)).code).toBe(0);
    // Taken within the service's quiet time after the last offline.
    const lock = await holdLock(sb);
    const chains = async (): Promise<string> => sh(`ip netns exec ${sb.dom0} nft list chains bridge`);
    expect(await chains()).toContain('in-vif21.0');
    // Held by another process, the lock keeps the collection waiting: nothing is removed meanwhile.
    await sleep(3000);
    expect(await chains()).toContain('in-vif20.0');
    await lock.release();
    await waitFor('the collection', () => svc?.output().includes('removed the guards of 2 detached vif(s): vif20.0 vif21.0') ?? false, 30_000);
    expect(svc.output()).not.toContain('cannot remove the guards');
    const left = await chains();
    expect([left.includes('in-vif20.0'), left.includes('in-vif21.0'), left.includes('in-vif22.0')]).toEqual([false, false, true]);
    expect(existsSync(join(sb.runDir, `netns-${sb.dom0}`, 'guards/retired/vif20.0.json'))).toBe(false);
    expect(await master('vif22.0')).toBe('xenbr0');
    expect(await svc.stop()).toBe(0);
  }, 60_000);

  it('every Nth guard an offline retires (N lowered to 4), it removes them all in a run of its own: a failure or a kill there leaves the offline done', async () => {
    // The threshold is a context setting (32 by default, test/unit/guard-collect.test.ts): every
    // offline here runs with 4, as the path to the removal is the same at any N.
    const n = 4;
    const at = { XENBRIDGE_GUARD_COLLECT_AT: String(n) };
    const nft = (cmd: string): Promise<string> => sh(`ip netns exec ${sb.dom0} nft ${cmd}`);
    const retired = (): string[] => readdirSync(join(sb.runDir, `netns-${sb.dom0}`, 'guards/retired')).sort();
    const [last, kept] = [30 + n - 1, 30 + n];
    await vifs(30, n + 1);
    svc = await startService(sb, xen);
    expect((await Promise.all(Array.from({ length: n + 1 }, (_, i) => viaHook(xen, 'online', 30 + i, 0)))).map((r) => r.code)).toEqual(new Array(n + 1).fill(0));
    expect(await svc.stop()).toBe(0);
    // Without the service, at once: each takes the lock in turn.
    expect((await Promise.all(Array.from({ length: n - 1 }, (_, i) => xen.hook('offline', 30 + i, 0, at)))).map((r) => r.code)).toEqual(new Array(n - 1).fill(0));
    expect(retired()).toHaveLength(n - 1);
    const before = await nft('list table bridge xenbridge');
    // The offline's own run: the vif leaves its bridge (step 0) and goes down (1); the removal's
    // run: the n guards (2 to n+1), in one nft transaction, refused at its second.
    const failed = await xen.hook('offline', last, 0, { ...at, XENBRIDGE_FAILPOINT: '3' });
    expect([failed.code, failed.stderr]).toEqual([0, expect.stringContaining('; the guards of detached vifs stay until apply: ')]);
    expect(await nft('list table bridge xenbridge')).toBe(before);
    expect([await master(`vif${last}.0`), retired().length]).toEqual([undefined, n]);
    expect((await xen.hook('online', last, 0, at)).code).toBe(0);
    const killed = await xen.hook('offline', last, 0, { ...at, XENBRIDGE_FAILPOINT: 'kill:3' });
    expect(killed.code).not.toBe(0);
    expect(await master(`vif${last}.0`)).toBeUndefined();
    // The next event undoes the interrupted removal, then removes the lot again: the last vif stays guarded.
    const ok = await xen.hook('offline', last - 1, 0, at);
    expect([ok.code, ok.stderr]).toEqual([0, expect.stringMatching(new RegExp(`undid an interrupted .*; removed the guards of ${n} detached vifs`))]);
    expect((await nft('list chains bridge')).match(/in-vif\S+/g)).toEqual([`in-vif${kept}.0`]);
    expect(retired()).toEqual([]);
    expect(await master(`vif${kept}.0`)).toBe('xenbr0');
  }, 120_000);

  it('falls back to the direct path when no service runs, or when its pid file names a dead one', async () => {
    await xen.makeVif(2, 0);
    xen.setVif(2, 0, { bridge: 'xenbr0' });
    const r = await viaHook(xen, 'online', 2, 0);
    expect([r.code, r.stderr]).toEqual([0, `vif-xenbridge: domain 2: online vif2.0 -> xenbr0, mtu 1500; untagged only, from ${guestMac(2, 0)} only`]);
    expect(xen.read(2, 0, 'hotplug-status')).toBe('connected');
    // A service killed outright leaves its FIFO and its pid file behind.
    svc = await startService(sb, xen);
    svc.proc.kill('SIGKILL');
    await svc.proc;
    expect(existsSync(join(svc.spool, 'pid'))).toBe(true);
    const off = await viaHook(xen, 'offline', 2, 0);
    expect([off.code, off.stderr]).toEqual([0, 'vif-xenbridge: domain 2: offline vif2.0']);
    expect(await master('vif2.0')).toBeUndefined();
    expect(spoolFiles(svc, '.req')).toEqual([]);
  });

  it('an event in flight when the service is killed is run by the next one; a service stopped gives its queued events back', async () => {
    svc = await startService(sb, xen);
    const lock = await holdLock(sb);
    for (const d of [3, 4]) {
      await xen.makeVif(d, 0);
      xen.setVif(d, 0, { bridge: 'xenbr0' });
    }
    const first = viaHook(xen, 'online', 3, 0);
    await waitFor('the event taken', () => spoolFiles(svc as Service, '.work').length === 1);
    svc.proc.kill('SIGKILL');
    await svc.proc;
    const next = await startService(sb, xen);
    svc = next;
    await lock.release();
    const r = await first;
    expect([r.code, xen.read(3, 0, 'hotplug-status'), await master('vif3.0')]).toEqual([0, 'connected', 'xenbr0']);
    expect(next.output()).toContain('online vif3.0 -> xenbr0');
    // Stopped while an event waits for the lock: the event still ends well, by the hook's own hand.
    const lock2 = await holdLock(sb);
    const second = viaHook(xen, 'online', 4, 0);
    await waitFor('the event taken', () => spoolFiles(next, '.work').length === 1);
    const stopped = next.stop();
    await lock2.release();
    expect(await stopped).toBe(0);
    const r2 = await second;
    expect([r2.code, xen.read(4, 0, 'hotplug-status'), await master('vif4.0')]).toEqual([0, 'connected', 'xenbr0']);
    expect(spoolFiles(next, '.work')).toEqual([]);
  }, 30_000);

  it('a hook killed while it waits (xl gives up on it) leaves no process behind', async () => {
    svc = await startService(sb, xen);
    const lock = await holdLock(sb);
    await xen.makeVif(9, 0);
    xen.setVif(9, 0, { bridge: 'xenbr0' });
    const hook = hookProcess(xen, 'online', 9, 0);
    await waitFor('the event taken', () => spoolFiles(svc as Service, '.work').length === 1);
    const reply = join(svc.spool, spoolFiles(svc, '.reply')[0] ?? '?');
    // The hook and its ticker (a subshell and its sleep) hold the answer's FIFO.
    expect(holders(reply).length).toBeGreaterThanOrEqual(2);
    hook.kill('SIGKILL');
    await hook;
    await waitFor('the ticker gone with its hook', () => holders(reply).length === 0, 6000);
    await lock.release();
  }, 30_000);

  it('a full queue refuses the event with a clear hotplug error', async () => {
    svc = await startService(sb, xen, ['--queue', '2']);
    const lock = await holdLock(sb);
    const hooks = [];
    for (const d of [5, 6, 7, 8]) {
      await xen.makeVif(d, 0);
      xen.setVif(d, 0, { bridge: 'xenbr0' });
      hooks.push(viaHook(xen, 'online', d, 0));
      await waitFor('the event taken', () => existsSync(join(spoolOf(sb))) && spoolFiles(svc as Service, '.req').length === 0 && spoolFiles(svc as Service, '.reply').length === hooks.length - (d === 8 ? 1 : 0));
    }
    const refused = await hooks[3];
    const msg = "vif8.0 online: the hook service's queue is full (2 events waiting): try again once the guests already starting are up";
    expect([refused?.code, refused?.stderr.split('\n')[0]]).toEqual([1, `vif-xenbridge: domain 8: ${msg}`]);
    expect([xen.read(8, 0, 'hotplug-status'), xen.read(8, 0, 'hotplug-error')]).toEqual(['error', msg]);
    await lock.release();
    for (const h of hooks.slice(0, 3)) expect((await h).code).toBe(0);
    expect([5, 6, 7].map((d) => xen.read(d, 0, 'hotplug-status'))).toEqual(['connected', 'connected', 'connected']);
  }, 30_000);

  it('attaches a storm in few transactions; a vif the kernel refuses and one without a device fail alone', async () => {
    svc = await startService(sb, xen);
    const n = 32;
    await vifs(100, n);
    // A macvlan holds the device's receive handler: the kernel refuses it as a bridge port.
    await sb.ip('link add link vif110.0 name mv110 type macvlan');
    await sb.ip('link del dev vif120.0');
    const results = await Promise.all(Array.from({ length: n }, (_, i) => viaHook(xen, 'online', 100 + i, 0)));
    const failed = results.map((r, i) => (r.code === 0 ? undefined : [100 + i, r.stderr.split('\n')[0]])).filter((d) => d !== undefined);
    expect(failed.map((f) => f[0]), JSON.stringify(failed)).toEqual([110, 120]);
    expect(xen.read(110, 0, 'hotplug-error')).toMatch(/^vif110\.0 online: vif vif110\.0 failed at step \d+ of \d+; the host was restored$/);
    expect(xen.read(120, 0, 'hotplug-error')).toBe('vif120.0 online: device vif120.0 does not exist (the backend has not created it)');
    const ports = JSON.parse(await sb.ip('-j link show master xenbr0')).map((l: { ifname: string }) => l.ifname).filter((p: string) => p.startsWith('vif'));
    expect(ports).toHaveLength(n - 2);
    const joint = [...svc.output().matchAll(/hookd: (\d+) onlines in one transaction/g)];
    expect(joint.length).toBeGreaterThan(0);
    expect(joint.length).toBeLessThan(8);
  }, 120_000);

  it('a service killed in the middle of a joint transaction: the next one undoes it and attaches every vif', async () => {
    // Seven onlines: their ports' RA switches are ops 0-6, their guards 7-13; op 17 is in the ip batch.
    svc = await startService(sb, xen, [], { XENBRIDGE_FAILPOINT: 'kill:17' });
    const lock = await holdLock(sb);
    const n = 8;
    await vifs(200, n);
    const hooks = [viaHook(xen, 'online', 200, 0)];
    await waitFor('the first event taken', () => spoolFiles(svc as Service, '.work').length === 1);
    // Its keys read, its batch waits for the lock: the next events queue behind it instead of joining it.
    await sleep(500);
    for (let i = 1; i < n; i++) hooks.push(viaHook(xen, 'online', 200 + i, 0));
    await waitFor('every event queued', () => spoolFiles(svc as Service, '.work').length === n);
    await lock.release();
    await svc.proc;
    expect(svc.proc.exitCode).toBeNull();
    expect(svc.output()).toContain(`hookd: ${n - 1} onlines in one transaction`);
    const journal = join(sb.runDir, `netns-${sb.dom0}`, 'journal.json');
    expect(existsSync(journal)).toBe(true);
    svc = await startService(sb, xen);
    const results = await Promise.all(hooks);
    expect(results.map((r) => r.code), JSON.stringify(results.map((r) => r.stderr))).toEqual(new Array(n).fill(0));
    expect(svc.output()).toMatch(/undid an interrupted vif (vif20\d\.0 ){7}by pid \d+ .* was interrupted after 17 of 49 steps/);
    expect(existsSync(journal)).toBe(false);
    const ports = JSON.parse(await sb.ip('-j link show master xenbr0')).map((l: { ifname: string }) => l.ifname).filter((p: string) => p.startsWith('vif'));
    expect(ports.sort()).toEqual(Array.from({ length: n }, (_, i) => `vif${200 + i}.0`));
  }, 120_000);
});
