import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { cli, sh } from '../helpers/sh.js';
import { guestMac, makeXenBed, type XenBed } from '../helpers/vif.js';

const TOPO = `version: 1
bridges:
  - name: xenbr0
    uplink: eth0
    mtu: 1500
    vlans: [{id: 10}]
    vif-vlans: [100-199]
`;

let sb: Sandbox;
let xen: XenBed;
let cfg: string;
const master = async (dev: string): Promise<string | undefined> => JSON.parse(await sb.ip(`-j link show dev ${dev}`))[0]?.master;

beforeEach(async () => {
  // No VLAN devices on this kernel: apply the untagged part; VLAN cases run in the VM suites.
  ({ sb, cfg } = await sandboxWithTopology(TOPO.replace('    vlans: [{id: 10}]\n', '')));
  expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
  writeFileSync(cfg, TOPO);
  xen = makeXenBed(sb, cfg);
});
afterEach(async () => {
  await xen.cleanup();
  await sb.cleanup();
});

describe('vif-xenbridge online/offline against real veth vifs', () => {
  it('attaches like vif-bridge, reports connected, and the guest reaches dom0 and the switch', async () => {
    const domU = await xen.makeVif(1, 0, '192.0.2.50/24');
    xen.setVif(1, 0, { bridge: 'xenbr0', ip: '192.0.2.50' });
    const r = await xen.hook('online', 1, 0);
    expect([r.code, r.stderr]).toEqual([0, `vif-xenbridge: domain 1: online vif1.0 -> xenbr0, mtu 1500; untagged only, from ${guestMac(1, 0)} 192.0.2.50 only`]);
    expect(xen.read(1, 0, 'hotplug-status')).toBe('connected');
    const link = JSON.parse(await sb.ip('-j link show dev vif1.0'))[0];
    expect([link.master, link.address, link.mtu, link.flags.includes('UP')]).toEqual(['xenbr0', 'fe:ff:ff:ff:ff:ff', 1500, true]);
    await sh(`ip netns exec ${domU} ping -c1 -W2 192.0.2.1`);
    await sh(`ip netns exec ${domU} ping -c1 -W2 192.0.2.10`);
    expect(readFileSync(xen.env.XENBRIDGE_HOTPLUG_LOG, 'utf8')).toMatch(/^\[[0-9T:.Z-]+\] vif-xenbridge: domain 1: online vif1\.0 -> xenbr0, mtu 1500; untagged only, from 00:16:3e:00:01:00 192\.0\.2\.50 only\n$/);
  });

  it('renames to vifname and takes the MTU from xenstore', async () => {
    await xen.makeVif(2, 0);
    xen.setVif(2, 0, { bridge: 'xenbr0', vifname: 'web0', mtu: '9000' });
    expect((await xen.hook('online', 2, 0)).code).toBe(0);
    const link = JSON.parse(await sb.ip('-j link show dev web0'))[0];
    expect([link.master, link.mtu]).toEqual(['xenbr0', 9000]);
    expect(JSON.parse(await sb.ip('-j link show dev xenbr0'))[0].mtu).toBe(1500);
    expect((await xen.hook('offline', 2, 0)).code).toBe(0);
    expect(await master('web0')).toBeUndefined();
  });

  it('online twice changes nothing the second time; offline twice and offline of a vanished device succeed', async () => {
    await xen.makeVif(3, 0);
    xen.setVif(3, 0, { bridge: 'xenbr0' });
    expect((await xen.hook('online', 3, 0)).code).toBe(0);
    const before = await sb.ip('-j -d link show dev vif3.0');
    expect((await xen.hook('online', 3, 0)).code).toBe(0);
    expect((await sb.ip('-j -d link show dev vif3.0')).replace(/"[a-z_]*_timer":[0-9.]+,?/g, '')).toBe(before.replace(/"[a-z_]*_timer":[0-9.]+,?/g, ''));
    expect((await xen.hook('offline', 3, 0)).code).toBe(0);
    expect(await master('vif3.0')).toBeUndefined();
    expect((await xen.hook('offline', 3, 0)).code).toBe(0);
    await sb.ip('link del dev vif3.0');
    const gone = await xen.hook('offline', 3, 0);
    expect([gone.code, gone.stderr]).toEqual([0, 'vif-xenbridge: domain 3: offline vif3.0 (already gone)']);
  });

  it.each([
    [{ bridge: 'xenbr9' }, 'vif4.0 online: bridge xenbr9 is not in the topology (bridges: xenbr0)'],
    [{ bridge: 'xenbr0.30' }, 'vif4.0 online: VLAN 30 is not allowed on xenbr0 (vlans: 10)'],
    [{ bridge: 'xenbr0.10:150' }, 'vif4.0 online: bridge xenbr0: a native VLAN with tagged VLANs needs mode: filtering'],
    [{ bridge: 'xenbr0.4095' }, 'vif4.0 online: bridge "xenbr0.4095": tag 4095 is not a VLAN ID (1-4094)'],
    [{ bridge: 'xenbr0', mtu: '9x' }, 'vif4.0 online: mtu "9x" is not an MTU (68-65535)'],
    [{ bridge: 'xenbr0', mtu: '20' }, 'vif4.0 online: mtu "20" is not an MTU (68-65535)'],
    [{ bridge: 'xenbr0', mtu: '1400' }, "vif4.0 online: mtu 1400 is below xenbr0's MTU 1500: a port with a lower MTU would lower the bridge's, for dom0 and every guest on it"],
    [{ bridge: 'xenbr0', vifname: '../evil' }, 'vif4.0 online: vifname "../evil" refused: "../evil" contains "/", ":" or whitespace'],
    [{ bridge: 'xenbr0; reboot' }, 'vif4.0 online: bridge "xenbr0; reboot": interface name "xenbr0; reboot" contains "/", ":" or whitespace'],
  ])('refuses %j with hotplug-status error and leaves the vif unattached', async (keys, msg) => {
    await xen.makeVif(4, 0);
    xen.setVif(4, 0, keys);
    const r = await xen.hook('online', 4, 0);
    expect(r.code).toBe(1);
    expect(xen.read(4, 0, 'hotplug-status')).toBe('error');
    expect(xen.read(4, 0, 'hotplug-error')).toBe(msg);
    expect(r.stderr.split('\n')[0]).toBe(`vif-xenbridge: domain 4: ${msg}`);
    expect(await master('vif4.0')).toBeUndefined();
  });

  it('a guest\'s mtu cannot shrink the bridge: its MTU and dom0\'s IPv6 address on it stay', async () => {
    await sb.ip('addr add 2001:db8:10::2/64 dev xenbr0 nodad');
    await xen.makeVif(4, 1);
    xen.setVif(4, 1, { bridge: 'xenbr0', mtu: '68' });
    expect((await xen.hook('online', 4, 1)).code).toBe(1);
    expect(xen.read(4, 1, 'hotplug-error')).toMatch(/^vif4\.1 online: mtu 68 is below xenbr0's MTU 1500: /);
    expect(JSON.parse(await sb.ip('-j link show dev xenbr0'))[0].mtu).toBe(1500);
    expect(await sb.ip('-6 addr show dev xenbr0 scope global')).toContain('2001:db8:10::2/64');
    expect(await master('vif4.1')).toBeUndefined();
  });

  it('a huge value with control characters: xl still gets status error, and every line is short printable ASCII', async () => {
    await xen.makeVif(4, 2);
    xen.setVif(4, 2, { bridge: `xenbr0\r[2026-01-01T00:00:00.000Z] vif-xenbridge: domain 4: online vif4.2 -> xenbr0\u001b[2K${'é'.repeat(2000)}` });
    const r = await xen.hook('online', 4, 2);
    expect(r.code).toBe(1);
    expect(xen.read(4, 2, 'hotplug-status')).toBe('error');
    const err = xen.read(4, 2, 'hotplug-error') ?? '';
    expect(err).toMatch(/^vif4\.2 online: bridge "xenbr0\\u000d\[2026/);
    for (const text of [err, r.stderr, readFileSync(xen.env.XENBRIDGE_HOTPLUG_LOG, 'utf8')]) {
      expect(text.trimEnd()).toMatch(/^[\x20-\x7e\n]+$/);
      expect(text.split('\n').every((l) => l.length < 1200)).toBe(true);
    }
    expect(await master('vif4.2')).toBeUndefined();
  });

  it('reports a missing device and a vifname that is taken', async () => {
    xen.setVif(5, 0, { bridge: 'xenbr0' });
    expect((await xen.hook('online', 5, 0)).code).toBe(1);
    expect(xen.read(5, 0, 'hotplug-error')).toBe('vif5.0 online: device vif5.0 does not exist (the backend has not created it)');
    await xen.makeVif(5, 1);
    xen.setVif(5, 1, { bridge: 'xenbr0', vifname: 'eth0' });
    expect((await xen.hook('online', 5, 1)).code).toBe(1);
    expect(xen.read(5, 1, 'hotplug-error')).toBe('vif5.1 online: vifname "eth0" refused: it is a link of bridge xenbr0 in the topology');
    await sb.ip('link add name spare0 type veth peer name spare1');
    xen.setVif(5, 1, { bridge: 'xenbr0', vifname: 'spare0' });
    expect((await xen.hook('online', 5, 1)).code).toBe(1);
    expect(xen.read(5, 1, 'hotplug-error')).toBe('vif5.1 online: cannot rename vif5.1 to spare0: spare0 already exists');
  });

  it('refuses bad arguments with exit 1 and, when XENBUS_PATH is valid, tells xl through xenstore', async () => {
    const r = await xen.hook('online', 6, 0, { vif: 'vif6.1' });
    const msg = 'usage error: vif must be vif6.0 for backend/vif/6/0, got "vif6.1"';
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([1, `vif-xenbridge: domain 6: ${msg}`]);
    expect([xen.read(6, 0, 'hotplug-status'), xen.read(6, 0, 'hotplug-error')]).toEqual(['error', msg]);
    for (const [argv, extra] of [[['online', 'type_if=tap'], {}], [['add', 'type_if=tap'], { INTERFACE: '' }], [['online', 'type_if=vif', 'x'], {}]] as const) {
      xen.setVif(6, 1, { 'hotplug-status': '' });
      const bad = await cli(['vif', ...argv], { ...xen.env, XENBUS_PATH: 'backend/vif/6/1', vif: 'vif6.1', ...extra });
      expect(bad.code).toBe(1);
      expect(xen.read(6, 1, 'hotplug-status')).toBe('error');
      expect(xen.read(6, 1, 'hotplug-error')).toMatch(/^usage error: /);
    }
    const noPath = await cli(['vif', 'online', 'type_if=tap'], xen.env);
    expect(noPath.code).toBe(1);
    expect(xen.read(6, 2, 'hotplug-status')).toBeUndefined();
  });

  it('bounds xenstore calls: a hung xenstore fails the hook instead of blocking libxl', async () => {
    await xen.makeVif(7, 0);
    const hung = join(sb.runDir, 'hung');
    await sh(`mkdir -p ${hung} && printf '#!/bin/sh\\nsleep 30\\n' > ${hung}/xenstore-list && chmod +x ${hung}/xenstore-list`);
    const t0 = Date.now();
    const r = await xen.hook('online', 7, 0, { PATH: `${hung}:${xen.env.PATH}`, XENBRIDGE_XENSTORE_TIMEOUT: '1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('xenstore-list did not answer within 1 s (is xenstored running?)');
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('64 concurrent online calls on one bridge all connect', async () => {
    const n = 64;
    for (let i = 0; i < n; i++) {
      await sb.ip(`link add name vif${100 + i}.0 type veth peer name d${i}`);
      xen.setVif(100 + i, 0, { bridge: 'xenbr0' });
    }
    const results = await Promise.all(Array.from({ length: n }, (_, i) => xen.hook('online', 100 + i, 0)));
    expect(results.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    for (let i = 0; i < n; i++) expect(xen.read(100 + i, 0, 'hotplug-status')).toBe('connected');
    const ports = JSON.parse(await sb.ip('-j link show master xenbr0')).map((l: { ifname: string }) => l.ifname);
    expect(ports.filter((p: string) => p.startsWith('vif'))).toHaveLength(n);
    // How long the burst takes is bench/hook.mjs's business; here every hook must get the lock in time.
  }, 300_000);
});
