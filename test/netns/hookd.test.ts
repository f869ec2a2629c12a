import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { cli } from '../helpers/sh.js';
import { guestMac, makeXenBed, type XenBed } from '../helpers/vif.js';
import { startService, viaHook, type Service } from '../helpers/hookd.js';

const TOPO = 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    mtu: 1500\n';

let sb: Sandbox;
let xen: XenBed;
let svc: Service | undefined;
const master = async (dev: string): Promise<string | undefined> => JSON.parse(await sb.ip(`-j link show dev ${dev}`))[0]?.master;

beforeEach(async () => {
  let cfg: string;
  ({ sb, cfg } = await sandboxWithTopology(TOPO));
  expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
  xen = makeXenBed(sb, cfg);
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
});
