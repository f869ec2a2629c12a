/**
 * The hook service's resident `nft -i`: guards go through it (one nft for every event), its errors
 * are the event's, and neither its death, its hanging, nor the service's own kill -9 with a batch
 * in flight leaves a port unguarded or a guard half made.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { sendAndCapture } from '../helpers/frames.js';
import { cli, sh } from '../helpers/sh.js';
import { guestMac, makeXenBed, type XenBed } from '../helpers/vif.js';
import { spoolFiles, startService, viaHook, waitFor, type Service } from '../helpers/hookd.js';

const TOPO = 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    mtu: 1500\n';

let sb: Sandbox;
let xen: XenBed;
let svc: Service | undefined;
let dir: string;

/** The resident nft: the service's child named nft. */
const residentNft = (s: Service): number | undefined => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).find((pid) => {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.includes('(nft)') && Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === s.proc.pid;
  } catch {
    return false;
  }
});
const master = async (dev: string): Promise<string | undefined> => JSON.parse(await sb.ip(`-j link show dev ${dev}`))[0]?.master;
const guarded = async (): Promise<string[]> => ((await sh(`ip netns exec ${sb.dom0} nft list chains bridge`)).match(/in-vif\S+/g) ?? []).sort();
const vif = async (d: number, addr?: string): Promise<string | undefined> => {
  const ns = addr ? await xen.makeVif(d, 0, addr) : (await sh(`ip -n ${sb.dom0} link add name vif${d}.0 type veth peer name p${d}`), undefined);
  xen.setVif(d, 0, { bridge: 'xenbr0', ...(addr ? { ip: addr.split('/')[0] as string } : {}) });
  return ns;
};

beforeEach(async () => {
  let cfg: string;
  ({ sb, cfg } = await sandboxWithTopology(TOPO));
  expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
  xen = makeXenBed(sb, cfg);
  dir = join(sb.runDir, `netns-${sb.dom0}`);
  svc = await startService(sb, xen);
});
afterEach(async () => {
  if (svc && svc.proc.exitCode === null) await svc.stop();
  await xen.cleanup();
  await sb.cleanup();
});

describe('the hook service\'s resident nft', () => {
  it('guards every online with one nft for all events; crafted frames are refused; nft\'s own error fails the event', async () => {
    const evil = await vif(1, '192.0.2.51/24');
    const peer = await vif(2, '192.0.2.52/24');
    for (const d of [1, 2]) expect((await viaHook(xen, 'online', d, 0)).stderr).toContain('untagged only');
    const nft = residentNft(svc as Service);
    expect(nft).toBeDefined();
    const own = { src: guestMac(1, 0), kind: 'ipv4' as const, sip: '192.0.2.51' };
    const seen = await sendAndCapture([evil as string, 'eth0'], [
      { id: 'tag20', ...own, tags: [[0x8100, 20]] }, { id: 'macpeer', ...own, src: guestMac(2, 0) }, { id: 'ipother', ...own, sip: '192.0.2.10' }, { id: 'ok', ...own },
    ], [['switch', sb.sw, 'sw0'], ['peer', peer as string, 'eth0']]);
    expect(seen).toEqual({ switch: ['ok'], peer: ['ok'] });
    expect((await viaHook(xen, 'offline', 2, 0)).code).toBe(0);
    // A base chain where the guard's chain goes: the kernel refuses the jump to it.
    await vif(3);
    await sh(`ip netns exec ${sb.dom0} nft add chain bridge xenbridge in-vif3.0 '{ type filter hook input priority 0; }'`);
    const bad = await viaHook(xen, 'online', 3, 0);
    expect([bad.code, bad.stderr.split('\n')[0]]).toEqual([1, expect.stringMatching(/^vif-xenbridge: domain 3: vif3\.0 online: .*failed at step 2 of \d+; the host was restored$/)]);
    expect(bad.stderr).toContain('Error: Could not process rule: Operation not supported');
    expect(xen.read(3, 0, 'hotplug-error')).toMatch(/^vif3\.0 online: .*the host was restored$/);
    expect([xen.read(3, 0, 'hotplug-status'), await master('vif3.0')]).toEqual(['error', undefined]);
    await sh(`ip netns exec ${sb.dom0} nft delete chain bridge xenbridge in-vif3.0`);
    expect((await viaHook(xen, 'online', 3, 0)).code).toBe(0);
    expect([residentNft(svc as Service), await guarded()]).toEqual([nft, ['in-vif1.0', 'in-vif2.0', 'in-vif3.0']]);
  }, 120_000);

  it('killed -9 between events, stopped with an event in flight, killed then: the next event starts a new one', async () => {
    for (const d of [4, 5, 6]) await vif(d);
    expect((await viaHook(xen, 'online', 4, 0)).code).toBe(0);
    const first = residentNft(svc as Service) as number;
    process.kill(first, 'SIGKILL');
    expect((await viaHook(xen, 'online', 5, 0)).code).toBe(0);
    const second = residentNft(svc as Service) as number;
    expect(second).not.toBe(first);
    // Stopped before it reads the batch, killed once the batch is written: the batch runs again in a new one.
    process.kill(second, 'SIGSTOP');
    const ev = viaHook(xen, 'online', 6, 0);
    await waitFor('the guard batch in flight', () => readdirSync(dir).some((f) => /^batch-[0-9a-f]{12}-\d+\.pid$/.test(f)));
    process.kill(second, 'SIGKILL');
    expect((await ev).code).toBe(0);
    expect(await guarded()).toEqual(['in-vif4.0', 'in-vif5.0', 'in-vif6.0']);
    expect(await master('vif6.0')).toBe('xenbr0');
  }, 120_000);

  it('hung: the event fails with a hotplug error after its timeout, the port stays unattached, the next event works', async () => {
    for (const d of [7, 8]) await vif(d);
    expect((await viaHook(xen, 'online', 8, 0)).code).toBe(0);
    process.kill(residentNft(svc as Service) as number, 'SIGSTOP');
    const hung = await viaHook(xen, 'online', 7, 0);
    expect([hung.code, xen.read(7, 0, 'hotplug-status')]).toEqual([1, 'error']);
    expect(hung.stderr).toContain('nft gave no answer within 10 s');
    expect(await master('vif7.0')).toBeUndefined();
    expect(await guarded()).toEqual(['in-vif8.0']);
    expect((await viaHook(xen, 'online', 7, 0)).code).toBe(0);
    expect(await guarded()).toEqual(['in-vif7.0', 'in-vif8.0']);
  }, 120_000);

  it('a service killed -9 while nft runs its guard batch: the next one waits for that nft, undoes it, and attaches both vifs guarded', async () => {
    await (svc as Service).stop();
    // Two queued onlines run jointly: their ports' RA switches are ops 0 and 1, their guards ops 2 and
    // 3; kill:3 dies as op 2 is in nft's hands.
    svc = await startService(sb, xen, [], { XENBRIDGE_FAILPOINT: 'kill:3' });
    for (const d of [10, 11]) await vif(d);
    // Both requests wait in the spool while the service is stopped, so it takes them in one batch.
    process.kill(svc.proc.pid as number, 'SIGSTOP');
    const hooks = [10, 11].map((d) => viaHook(xen, 'online', d, 0));
    await waitFor('both events spooled', () => spoolFiles(svc as Service, '.req').length === 2);
    process.kill(svc.proc.pid as number, 'SIGCONT');
    await svc.proc;
    expect(svc.proc.exitCode).toBeNull();
    expect(existsSync(join(dir, 'journal.json'))).toBe(true);
    svc = await startService(sb, xen);
    expect((await Promise.all(hooks)).map((r) => r.code)).toEqual([0, 0]);
    // The two hooks race to the spool, so the joint run names the vifs in either order.
    expect(svc.output()).toMatch(/undid an interrupted vif (vif10\.0 vif11\.0|vif11\.0 vif10\.0) by pid \d+ .* was interrupted after 2 of \d+ steps \(2 more may have run\)/);
    expect([await master('vif10.0'), await master('vif11.0'), await guarded()]).toEqual(['xenbr0', 'xenbr0', ['in-vif10.0', 'in-vif11.0']]);
    expect(existsSync(join(dir, 'journal.json'))).toBe(false);
  }, 120_000);
});
