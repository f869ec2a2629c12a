/**
 * A guest's vifname must never lead the hook to a link that is not that guest's device. Host with
 * two bridges (each over its own NIC), dom0's ports, two attached guests and a third "hostile" one
 * whose xenstore vifname names someone else's link: after online and after offline, no link but
 * the hook's own device may differ.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNic, dump, makeSandbox, type Sandbox } from '../helpers/netns.js';
import { cli, sh } from '../helpers/sh.js';
import { makeXenBed, type XenBed } from '../helpers/vif.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const TOPO = `version: 1
bridges:
  - name: xenbr0
    uplink: eth0
  - name: xenbr1
    uplink: eth1
    vif-vlans: [100-199]
`;

let sb: Sandbox;
let xen: XenBed;

/** Links, addresses and routes, minus the fields that tick by themselves and minus the given links. */
const snapshot = async (except: string[] = []): Promise<string> => {
  await dump(sb.dom0);
  const links = JSON.parse(await sb.ip('-j -d link show')) as { ifname: string; ifindex: number }[];
  const skip = new Set(links.filter((l) => except.includes(l.ifname)).map((l) => l.ifindex));
  const addrs = JSON.parse(await sb.ip('-j addr show')) as { ifindex: number }[];
  const routes = JSON.parse(await sb.ip('-j route show table all')) as { dev?: string }[];
  return JSON.stringify({
    links: links.filter((l) => !skip.has(l.ifindex)),
    addrs: addrs.filter((a) => !skip.has(a.ifindex)),
    routes: routes.filter((r) => !except.includes(r.dev ?? '')).map((r) => JSON.stringify(r)).sort(),
  }, null, 1).replace(/"[a-z_]*_timer": [0-9.]+,?/g, '');
};

beforeAll(async () => {
  sb = await makeSandbox();
  await addNic(sb, 'eth1');
  const cfg = join(sb.runDir, 'topology.yaml');
  writeFileSync(cfg, TOPO);
  expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env)).stderr).toBe('');
  xen = makeXenBed(sb, cfg);
  // Two honest guests, one on each bridge; the second renamed by its vifname.
  await xen.makeVif(1, 0);
  xen.setVif(1, 0, { bridge: 'xenbr0' });
  await xen.makeVif(2, 0);
  xen.setVif(2, 0, { bridge: 'xenbr1', vifname: 'web2' });
  for (const d of [1, 2]) expect((await xen.hook('online', d, 0)).stderr).toMatch(/^vif-xenbridge: domain \d+: online/);
  await sb.ip('link add name mgmt0 type veth peer name mgmt1');
  await sb.ip('link set dev mgmt0 up');
  await sb.ip('link set dev mgmt1 up');
});
afterAll(async () => {
  await xen.cleanup();
  await sb.cleanup();
});

const hostile: [string, string][] = [
  ['eth0', "dom0's own interface"],
  ['peth1', "the second bridge's NIC"],
  ['xenbr1-d0', "the second bridge's dom0 port"],
  ['xenbr1', 'a bridge'],
  ['xenbr1v150', 'an on-demand VLAN bridge name'],
  ['vif1.0', "another guest's vif"],
  ['web2', "another guest's renamed vif"],
  ['mgmt0', 'a link the topology does not know'],
  ['if2', 'an ifindex to ip'],
  ['br%d', 'a name the kernel expands'],
];

describe('vifname naming a link that is not the guest\'s own', () => {
  it.each(hostile.map(([n, why], i) => [n, why, 10 + i] as const))('vifname=%s (%s): online refuses and changes nothing; offline touches only the guest\'s device', async (vifname, _why, d) => {
    const vif = `vif${d}.0`;
    await xen.makeVif(d, 0);
    xen.setVif(d, 0, { bridge: 'xenbr1', vifname });
    const before = await snapshot();
    const on = await xen.hook('online', d, 0);
    expect(on.code).toBe(1);
    expect(xen.read(d, 0, 'hotplug-status')).toBe('error');
    expect(xen.read(d, 0, 'hotplug-error')).toMatch(new RegExp(`^${vif.replace('.', '\\.')} online: `));
    expect(await snapshot()).toBe(before);

    // Attached honestly, then xenstore says vifname=<hostile> when offline comes.
    xen.setVif(d, 0, { bridge: 'xenbr1', vifname: '' });
    expect((await xen.hook('online', d, 0)).code).toBe(0);
    xen.setVif(d, 0, { vifname });
    const attached = await snapshot([vif]);
    const off = await xen.hook('offline', d, 0);
    expect(off.code).toBe(0);
    expect(await snapshot([vif])).toBe(attached);
    expect(JSON.parse(await sb.ip(`-j link show dev ${vif}`))[0].master).toBeUndefined();

    // The device gone (netback removed it): offline with the hostile vifname changes nothing at all.
    await sb.ip(`link del dev ${vif}`);
    const gone = await snapshot();
    expect((await xen.hook('offline', d, 0)).code).toBe(0);
    expect(await snapshot()).toBe(gone);
  });

  it('a missing vif whose vifname names a dom0 port is not "connected" and moves nothing', async () => {
    xen.setVif(4, 0, { bridge: 'xenbr0', vifname: 'xenbr1-d0' });
    const before = await snapshot();
    const r = await xen.hook('online', 4, 0);
    expect([r.code, xen.read(4, 0, 'hotplug-status')]).toEqual([1, 'error']);
    expect(await snapshot()).toBe(before);
  });

  it('offline finds the renamed device by its record even when xenstore now names another link', async () => {
    xen.setVif(2, 0, { bridge: 'xenbr1', vifname: 'eth0' });
    const before = await snapshot(['web2']);
    const r = await xen.hook('offline', 2, 0);
    expect([r.code, r.stderr]).toEqual([0, "vif-xenbridge: domain 2: offline web2; eth0 left alone: not this guest's device"]);
    expect(await snapshot(['web2'])).toBe(before);
    const web2 = JSON.parse(await sb.ip('-j link show dev web2'))[0];
    expect([web2.master, web2.flags.includes('UP')]).toEqual([undefined, false]);
  });

  it('a link that merely carries the vif\'s kernel name but is not a guest device is left alone', async () => {
    await sb.ip('link add name vif5.0 type bridge');
    xen.setVif(5, 0, { bridge: 'xenbr0' });
    const before = await snapshot();
    const on = await xen.hook('online', 5, 0);
    expect(on.code).toBe(1);
    expect(xen.read(5, 0, 'hotplug-error')).toBe('vif5.0 online: vif5.0 is a bridge link, not a device the Xen backend made for domain 5: left alone');
    expect((await xen.hook('offline', 5, 0)).code).toBe(0);
    expect(await snapshot()).toBe(before);
    await sh(`ip -n ${sb.dom0} link del vif5.0`);
  });
});
