import { execa } from 'execa';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dump, sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { cli, ROOT, sh } from '../helpers/sh.js';
import { TAKEOVER_ONLY } from '../helpers/topologies.js';

const TOPO = TAKEOVER_ONLY;

let sb: Sandbox;
let cfg: string;
beforeEach(async () => {
  ({ sb, cfg } = await sandboxWithTopology(TOPO));
});
afterEach(async () => sb.cleanup());

const apply = (extra: string[] = []) => cli(['apply', '-c', cfg, '--netns', sb.dom0, ...extra], sb.env);

describe('taking over the NIC (network-bridge compatible)', () => {
  it('moves addresses, default route and MAC to dom0 eth0 while a TCP connection from the switch stays up', async () => {
    const macBefore = JSON.parse(await sb.ip('-j link show eth0'))[0].address;
    const server = execa('ip', ['netns', 'exec', sb.dom0, 'node', join(ROOT, 'test/helpers/tcp-echo.mjs'), 'server', '7000'], { reject: false });
    await new Promise<void>((resolve) => server.stdout?.once('data', () => resolve()));
    const clientStart = Date.now();
    const client = execa('ip', ['netns', 'exec', sb.sw, 'node', join(ROOT, 'test/helpers/tcp-echo.mjs'), 'client', '192.0.2.10', '7000', '3000']);
    await new Promise((r) => setTimeout(r, 1000));
    const r = await apply();
    const appliedAt = Date.now() - clientStart;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse((await client).stdout);
    server.kill();
    await server;
    expect(summary.error).toBeNull();
    expect(summary.closed).toBe(false);
    expect(summary.received).toBe(summary.sent);
    // echoes kept arriving after the apply finished, on the same connection
    expect(summary.echoes.filter((ms: number) => ms > appliedAt).length).toBeGreaterThan(5);

    const links = JSON.parse(await sb.ip('-j -d link show'));
    const byName = (n: string) => links.find((l: { ifname: string }) => l.ifname === n);
    expect(byName('peth0').master).toBe('xenbr0');
    expect(byName('peth0').address).toBe('fe:ff:ff:ff:ff:ff');
    expect(byName('eth0').address).toBe(macBefore);
    expect(byName('eth0').linkinfo.info_kind).toBe('veth');
    expect(byName('xenbr0-d0').master).toBe('xenbr0');
    expect(await sb.ip('route show default')).toContain('default via 192.0.2.1 dev eth0');
    expect(await sb.ip('-4 addr show dev eth0')).toContain('192.0.2.10/24');
    expect(await sb.ip('-4 addr show dev peth0')).not.toContain('inet ');
    await sb.inDom0('ping -c1 -W2 192.0.2.1');
  });

  it('re-applying the same file plans nothing and flaps nothing', async () => {
    expect((await apply()).code).toBe(0);
    // The new port's carrier (and its link-local address after it) may lag behind the apply.
    const before = await dump(sb.dom0, { waitCarrier: true });
    const monitor = execa('ip', ['-n', sb.dom0, 'monitor', 'link', 'address', 'route'], { reject: false });
    await new Promise((r) => setTimeout(r, 200));
    const plan = await cli(['plan', '-c', cfg, '--netns', sb.dom0], sb.env);
    expect(plan.stdout).toBe('no changes');
    const again = await apply();
    expect(again.stdout).toContain('no changes');
    await new Promise((r) => setTimeout(r, 300));
    monitor.kill();
    expect((await monitor).stdout).toBe('');
    const strip = (s: string) => s.replace(/"[a-z_]*_timer":[0-9.]+,?/g, '');
    expect(strip(await dump(sb.dom0))).toBe(strip(before));
  });

  it('stop restores the namespace exactly, and a second stop is a no-op', async () => {
    const before = await dump(sb.dom0);
    expect((await apply()).code).toBe(0);
    expect(await dump(sb.dom0)).not.toBe(before);
    const stop = await cli(['stop', '--netns', sb.dom0], sb.env);
    expect(stop.code).toBe(0);
    expect(await dump(sb.dom0)).toBe(before);
    const again = await cli(['stop', '--netns', sb.dom0], sb.env);
    expect(again.stdout).toBe('nothing to undo');
    await sb.inDom0('ping -c1 -W2 192.0.2.1');
  });

  it('apply -> stop -> apply -> stop leaves no stray links', async () => {
    const before = await dump(sb.dom0);
    for (let i = 0; i < 2; i++) {
      expect((await apply()).code).toBe(0);
      expect((await cli(['stop', '--netns', sb.dom0], sb.env)).code).toBe(0);
    }
    expect(await dump(sb.dom0)).toBe(before);
    expect(await sh(`ip -n ${sb.dom0} -br link | wc -l`)).toBe('2');
  });
});
