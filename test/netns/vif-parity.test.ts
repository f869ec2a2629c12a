// What Xen 4.20's vif-bridge does besides attaching, done the same way: the guest's frontend MTU
// (set_mtu), one log line per event in xen-hotplug.log and syslog (daemon facility). xenstore and
// logger are doubles at the command boundary (test/fixtures/xenstore); the links are real.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { cli, sh } from '../helpers/sh.js';
import { makeXenBed, type XenBed } from '../helpers/vif.js';

const topo = (mtu: number) => `version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    mtu: ${mtu}\n`;

let sb: Sandbox;
let xen: XenBed;
const setup = async (mtu: number): Promise<void> => {
  let cfg: string;
  ({ sb, cfg } = await sandboxWithTopology(topo(mtu)));
  const r = await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env);
  expect(r.code, r.stderr).toBe(0);
  xen = makeXenBed(sb, cfg);
};
afterEach(async () => {
  await xen?.cleanup();
  await sb?.cleanup();
});

const frontendMtu = (d: number, n: number) => {
  try {
    return readFileSync(join(xen.store, `local/domain/${d}/device/vif/${n}/mtu`), 'utf8');
  } catch {
    return undefined;
  }
};
const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((e) => (statSync(join(dir, e)).isDirectory() ? walk(join(dir, e)) : [join(dir, e)]));
const logLines = () => readFileSync(xen.env.XENBRIDGE_HOTPLUG_LOG, 'utf8').split('\n').filter(Boolean);
const syslog = () => readFileSync(xen.env.XENBRIDGE_TEST_SYSLOG, 'utf8').split('\n').filter(Boolean);

describe('frontend MTU, as set_mtu writes it', () => {
  it('a guest on a 9000-byte bridge is told 9000, and only its own frontend is written', async () => {
    await setup(9000);
    await xen.makeVif(1, 0);
    xen.setVif(1, 0, { bridge: 'xenbr0' });
    const before = new Set(walk(xen.store));
    expect((await xen.hook('online', 1, 0)).code).toBe(0);
    expect(JSON.parse(await sb.ip('-j link show dev vif1.0'))[0].mtu).toBe(9000);
    expect(frontendMtu(1, 0)).toBe('9000');
    const written = walk(xen.store).filter((f) => !before.has(f)).map((f) => relative(xen.store, f)).sort();
    expect(written).toEqual(['backend/vif/1/0/hotplug-status', 'local/domain/1/device/vif/0/mtu']);
  });

  it('a higher xenstore mtu wins over the bridge\'s; a renamed vif still writes its own domain\'s frontend', async () => {
    await setup(1500);
    await xen.makeVif(2, 3);
    xen.setVif(2, 3, { bridge: 'xenbr0', mtu: '9000', vifname: 'web0' });
    expect((await xen.hook('online', 2, 3)).code).toBe(0);
    expect(JSON.parse(await sb.ip('-j link show dev web0'))[0].mtu).toBe(9000);
    expect(frontendMtu(2, 3)).toBe('9000');
  });

  it('a lower one is refused where vif-bridge would lower the bridge to it, and the frontend is told nothing', async () => {
    await setup(9000);
    await xen.makeVif(2, 4);
    xen.setVif(2, 4, { bridge: 'xenbr0', mtu: '1400' });
    expect((await xen.hook('online', 2, 4)).code).toBe(1);
    expect(JSON.parse(await sb.ip('-j link show dev xenbr0'))[0].mtu).toBe(9000);
    expect(frontendMtu(2, 4)).toBeUndefined();
  });

  it('an HVM emulated NIC (tap) has no PV frontend: nothing is written there', async () => {
    await setup(1500);
    await sb.ip('link add name vif5.0-emu type veth peer name g5');
    xen.setVif(5, 0, { bridge: 'xenbr0' });
    expect((await xen.hook('add', 5, 0)).code).toBe(0);
    expect(frontendMtu(5, 0)).toBeUndefined();
  });

  it('a refused vif tells the frontend nothing', async () => {
    await setup(1500);
    await xen.makeVif(6, 0);
    xen.setVif(6, 0, { bridge: 'xenbr0', mtu: '65536' });
    expect((await xen.hook('online', 6, 0)).code).toBe(1);
    expect(frontendMtu(6, 0)).toBeUndefined();
  });
});

describe('one log line per event, in xen-hotplug.log and syslog', () => {
  it('online and offline: one line each, naming the domain and the device, facility daemon, tag vif-xenbridge', async () => {
    await setup(1500);
    await xen.makeVif(7, 1);
    xen.setVif(7, 1, { bridge: 'xenbr0' });
    expect((await xen.hook('online', 7, 1)).code).toBe(0);
    expect((await xen.hook('offline', 7, 1)).code).toBe(0);
    expect(logLines().map((l) => l.replace(/^\[[^\]]+\] /, ''))).toEqual([
      'vif-xenbridge: domain 7: online vif7.1 -> xenbr0, mtu 1500; untagged only, from 00:16:3e:00:07:01 only',
      'vif-xenbridge: domain 7: offline vif7.1',
    ]);
    expect(syslog()).toEqual([
      '-p daemon.notice -t vif-xenbridge -- domain 7: online vif7.1 -> xenbr0, mtu 1500; untagged only, from 00:16:3e:00:07:01 only',
      '-p daemon.notice -t vif-xenbridge -- domain 7: offline vif7.1',
    ]);
  });

  it('a refused vif: one line at priority err, the same text xl prints from hotplug-error', async () => {
    await setup(1500);
    await xen.makeVif(8, 0);
    xen.setVif(8, 0, { bridge: 'xenbr9' });
    expect((await xen.hook('online', 8, 0)).code).toBe(1);
    const err = xen.read(8, 0, 'hotplug-error');
    expect(err).toBe('vif8.0 online: bridge xenbr9 is not in the topology (bridges: xenbr0)');
    expect(syslog()).toEqual([`-p daemon.err -t vif-xenbridge -- domain 8: ${err}`]);
    expect(logLines()).toHaveLength(1);
  });

  it('a logger that hangs or fails costs at most its timeout: the guest still connects', async () => {
    await setup(1500);
    const bad = join(sb.runDir, 'bad-logger');
    await sh(`mkdir -p ${bad} && printf '#!/bin/sh\\nsleep 30\\n' > ${bad}/logger && chmod +x ${bad}/logger`);
    await xen.makeVif(9, 0);
    xen.setVif(9, 0, { bridge: 'xenbr0' });
    const t0 = Date.now();
    const r = await xen.hook('online', 9, 0, { PATH: `${bad}:${xen.env.PATH}` });
    expect([r.code, xen.read(9, 0, 'hotplug-status')]).toEqual([0, 'connected']);
    expect(Date.now() - t0).toBeLessThan(15_000);
    writeFileSync(join(bad, 'logger'), '#!/bin/sh\nexit 1\n');
    expect((await xen.hook('offline', 9, 0, { PATH: `${bad}:${xen.env.PATH}` })).code).toBe(0);
    expect(logLines()).toHaveLength(2);
  });
});
