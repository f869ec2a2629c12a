/**
 * dom0 on SLAAC and DHCPv6: dnsmasq advertising 2001:db8::/64 on the switch side; the kernel's
 * SLAAC or Debian's dhcpcd -6 on dom0's interface. The sandbox's new links take no advertisements
 * by default (net.ipv6.conf.default.accept_ra=0), so the apply has accept_ra to set and undo.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/dhcp.js';
import { dump, sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { scopeDir } from '../helpers/pending.js';
import { globals6, hostClient6, leases6, raSettings, startRouter, timeless, type RaBed } from '../helpers/ra.js';
import { cli, sh } from '../helpers/sh.js';

const topo = (addresses: string): string => `version: 1
bridges:
  - name: xenbr0
    uplink: eth0
    dom0:
      addresses: [192.0.2.10/24, ${addresses}]
      gateway: 192.0.2.1
`;

let sb: Sandbox;
let cfg: string;
let router: RaBed | undefined;
beforeEach(async () => {
  router = undefined;
  ({ sb, cfg } = await sandboxWithTopology(topo('slaac')));
  await sb.inDom0('sysctl -qw net.ipv6.conf.default.accept_ra=0');
});
afterEach(async () => {
  try {
    await cli(['stop', '--netns', sb.dom0], sb.env);
    await router?.stop();
  } finally {
    await sb.cleanup();
  }
});

const xb = (...args: string[]) => cli([...args, '--netns', sb.dom0], sb.env);
const state = async (): Promise<string> => `${timeless(await dump(sb.dom0))}\n${await raSettings(sb)}`;
const dhcpcdsIn = async (ns: string): Promise<string> => sh(`ip netns pids ${ns} | while read p; do cat /proc/$p/comm; done | grep -c dhcpcd || true`);
const slaacOn = async (dev: string) => (await globals6(sb, dev)).find((a) => a.flags.includes('mngtmpaddr'));

describe('dom0.addresses: slaac', () => {
  it('the NIC\'s SLAAC address moves with its lifetime and stays reachable; ports stay quiet; show says slaac; stop restores', async () => {
    router = await startRouter(sb, 'slaac');
    await waitFor('a SLAAC address on the NIC', async () => (await slaacOn('eth0')) !== undefined);
    const onNic = (await slaacOn('eth0'))!;
    // The router's RA default route and prefix route are on the NIC too: wait for them to settle.
    await waitFor('the advertised default route', async () => (await sb.ip('-6 route show default')).includes('proto ra'));
    const before = await state();

    const r = await xb('apply', '-c', cfg);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const moved = (await globals6(sb, 'eth0')).find((a) => a.local === onNic.local);
    expect(moved?.flags).toEqual(expect.arrayContaining(['nodad', 'dynamic']));
    expect(moved!.valid).toBeLessThanOrEqual(onNic.valid);
    await sb.inSw(`ping -6 -c1 -W2 ${onNic.local}`);
    expect(await raSettings(sb)).toMatch(/^eth0 1 1$/m);
    for (const port of ['peth0', 'xenbr0-d0']) {
      expect(JSON.parse(await sb.ip(`-j -d link show dev ${port}`))[0].inet6_addr_gen_mode).toBe('none');
      expect(JSON.parse(await sb.ip(`-j -6 addr show dev ${port}`))[0]?.addr_info ?? []).toEqual([]);
    }
    // The kernel renews it on dom0's interface from the next advertisement (same MAC, same EUI-64 address).
    // Renewed: it now ends later than it did when it moved (lifetimes are whole seconds, hence the margin).
    const movedEnd = Date.now() / 1000 + moved!.valid;
    const endsAt = async () => Date.now() / 1000 + ((await globals6(sb, 'eth0')).find((a) => a.local === onNic.local)?.valid ?? 0);
    // Advertisements come every 4 s; a loaded machine has been seen to take longer than 15 s to renew from one.
    await waitFor('a renewed lifetime', async () => (await endsAt()) > movedEnd + 2, 30_000);
    await waitFor('the advertised default route on eth0', async () => /default via fe80::\S+ dev eth0 proto ra/.test(await sb.ip('-6 route show default')));
    expect((await xb('plan', '-c', cfg)).stdout).toBe('no changes');
    const v = await xb('verify', '-c', cfg, '--json');
    expect([v.code, JSON.parse(v.stdout).differences]).toEqual([0, []]);

    const yaml = await xb('show', '--format', 'yaml');
    expect(yaml.stdout).toMatch(/addresses:\n\s+- slaac\n\s+- 192\.0\.2\.10\/24\n/);
    expect(yaml.stdout).not.toContain('fe80::');
    const shown = join(sb.runDir, 'shown.yaml');
    writeFileSync(shown, yaml.stdout);
    expect(await xb('plan', '-c', shown)).toMatchObject({ code: 0, stdout: 'no changes' });

    expect((await xb('stop')).code).toBe(0);
    await waitFor('the advertised default route back on the NIC', async () => /dev eth0 proto ra/.test(await sb.ip('-6 route show default')), 15_000);
    expect(await state()).toBe(before);
  });

  it('a failure at every step, and a kill -9 inside the sysctl phase, leave the namespace as it was', async () => {
    // SLAAC off too for new links: the sysctl phase has two steps, and the kill lands between them.
    await sb.inDom0('sysctl -qw net.ipv6.conf.default.autoconf=0');
    const before = await state();
    const n = JSON.parse((await xb('plan', '-c', cfg, '--format', 'json')).stdout).changes as number;
    const steps = (await xb('plan', '-c', cfg)).stdout.split('\n');
    const sysctlAt = steps.findIndex((l) => l.startsWith('sysctl set eth0 accept_ra 1'));
    expect(sysctlAt).toBeGreaterThan(0);
    for (let k = 0; k < n; k++) {
      const f = await cli(['apply', '-c', cfg, '--netns', sb.dom0], { ...sb.env, XENBRIDGE_FAILPOINT: String(k) });
      expect(f.stderr, `step ${k}`).toContain(`failed at step ${k + 1} of ${n}; the host was restored`);
      expect(await state(), `after a failure at step ${k}`).toBe(before);
    }
    expect(steps[sysctlAt + 1]).toBe('sysctl set eth0 autoconf 1');
    const killed = await cli(['apply', '-c', cfg, '--netns', sb.dom0], { ...sb.env, XENBRIDGE_FAILPOINT: `kill:${sysctlAt + 1}` });
    expect(killed.code).toBe(-1);
    const rb = await xb('rollback');
    expect(rb.code, rb.stderr).toBe(0);
    expect(await state()).toBe(before);
    expect((await xb('apply', '-c', cfg)).code).toBe(0);
    expect(await raSettings(sb)).toMatch(/^eth0 1 1$/m);
  }, 240_000);
});

const leased = async () => (await globals6(sb, 'eth0')).find((a) => a.prefixlen === 128 && a.flags.includes('dynamic'));

describe('plan --format sh', () => {
  it('runs the sysctl steps through the same shell program, inside the namespace', async () => {
    const script = (await xb('plan', '-c', cfg, '--format', 'sh')).stdout;
    expect(script).toContain(`echo 'set eth0 accept_ra 1' | ip netns exec '${sb.dom0}' sh -c `);
    const f = join(sb.runDir, 'plan.sh');
    writeFileSync(f, script);
    await sh(`sh ${f}`);
    expect(await raSettings(sb)).toMatch(/^default 0 1\neth0 1 1$/m);
  });
});

describe('dom0.addresses: dhcp6', () => {
  it('the DHCPv6 client gets an address after the takeover, renews it, and stop restores', async () => {
    writeFileSync(cfg, topo('dhcp6'));
    router = await startRouter(sb, 'dhcp6');
    await waitFor('the advertised default route', async () => (await sb.ip('-6 route show default')).includes('proto ra'));
    const before = await state();
    const r = await xb('apply', '-c', cfg);
    expect([r.code, r.stderr]).toEqual([0, '']);
    await waitFor('a DHCPv6 address on dom0', async () => (await leased()) !== undefined);
    // accept_ra set (the router's default route); autoconf left as the kernel has it.
    expect(await raSettings(sb)).toMatch(/^default 0 1\neth0 1 1$/m);
    await sb.inSw(`ping -6 -c1 -W2 ${(await leased())!.local}`);
    const dir = join(scopeDir(sb), 'dhcp');
    expect(readFileSync(join(dir, 'dhcpcd6.conf'), 'utf8')).toContain('noipv6rs\n');
    expect((await xb('plan', '-c', cfg)).stdout).toBe('no changes');
    const yaml = await xb('show', '--format', 'yaml');
    expect(yaml.stdout).toMatch(/addresses:\n\s+- dhcp6\n\s+- 192\.0\.2\.10\/24\n/);
    const shown = join(sb.runDir, 'shown.yaml');
    writeFileSync(shown, yaml.stdout);
    expect(await xb('plan', '-c', shown)).toMatchObject({ code: 0, stdout: 'no changes' });

    const seen = router.messages().length;
    const pid = readFileSync(join(dir, 'run', 'eth0-6.pid'), 'utf8').trim();
    await sh(`kill -USR1 ${pid}`);
    await waitFor('a renewal', async () => router!.messages(seen).some((l) => /REPLY\(sw0\)/.test(l)), 10_000);
    expect(router.messages(seen).some((l) => /SOLICIT\(sw0\)/.test(l))).toBe(false);

    expect((await xb('stop')).code).toBe(0);
    expect(await dhcpcdsIn(sb.dom0)).toBe('0');
    expect(await state()).toBe(before);
  }, 120_000);

  it('a DHCPv6 address the NIC holds moves with its lifetime, and dom0\'s client (the machine\'s DUID) keeps that one lease', async () => {
    writeFileSync(cfg, topo('dhcp6'));
    router = await startRouter(sb, 'dhcp6');
    const own = join(sb.runDir, 'host-client6');
    const host = hostClient6(sb, own);
    await host.start();
    await waitFor('the host client\'s address on the NIC', async () => (await leased()) !== undefined);
    await host.stop();
    const onNic = (await leased())!;
    const held = leases6(sb);
    expect(held).toHaveLength(1);
    // The machine's DUID and the lease its dhcpcd keeps for eth0, where xenbridge's client finds them.
    const dir = join(scopeDir(sb), 'dhcp');
    mkdirSync(join(dir, 'db'), { recursive: true });
    for (const f of ['duid', 'eth0.lease6']) copyFileSync(join(own, 'db', f), join(dir, 'db', f));

    const seen = router.messages().length;
    const r = await xb('apply', '-c', cfg);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const moved = (await globals6(sb, 'eth0')).find((a) => a.local === onNic.local);
    expect(moved?.flags).toEqual(expect.arrayContaining(['nodad', 'dynamic', 'noprefixroute']));
    expect(moved!.valid).toBeLessThanOrEqual(onNic.valid);
    // A /128 brings no on-link route: dom0 answers once its interface has heard the router (it solicits one as it comes up).
    const t0 = Date.now();
    await waitFor('the advertised routes on eth0', async () => /default via fe80::\S+ dev eth0 proto ra/.test(await sb.ip('-6 route show default')), 10_000);
    console.log(`dom0's eth0 heard the router ${Date.now() - t0} ms after the apply`);
    await sb.inSw(`ping -6 -c1 -W2 ${onNic.local}`);
    await waitFor('the client\'s first exchange', async () => router!.messages(seen).some((l) => /REPLY\(sw0\)/.test(l)), 10_000);
    // dhcpcd -6 may start with a SOLICIT even with the lease copied; the server answers with the same lease (DUID, IAID, address).
    expect(leases6(sb)).toEqual(held);
    expect((await globals6(sb, 'eth0')).filter((a) => a.prefixlen === 128).map((a) => a.local)).toEqual([onNic.local]);
  }, 120_000);
});
