/**
 * dom0 on DHCP: dnsmasq on the switch side, Debian's dhcpcd on dom0's interface. DHCP needs no
 * 802.1Q, so this runs in namespaces on the machine's own kernel.
 */
import { execa } from 'execa';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostClient, leaseOn, RESERVED, runsDhcpcd, startDhcpServer, waitFor, type DhcpBed } from '../helpers/dhcp.js';
import { dump, sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { scopeDir } from '../helpers/pending.js';
import { cli, CLI, sh } from '../helpers/sh.js';

const TOPO = `version: 1
bridges:
  - name: xenbr0
    uplink: eth0
    dom0:
      addresses: dhcp
`;

let sb: Sandbox;
let cfg: string;
let srv: DhcpBed;
let serving = false;
beforeEach(async () => {
  serving = false;
  ({ sb, cfg } = await sandboxWithTopology(TOPO));
  srv = await startDhcpServer(sb);
  serving = true;
});
afterEach(async () => {
  try {
    await cli(['stop', '--netns', sb.dom0], sb.env);
    if (serving) await srv.stop();
  } finally {
    rmSync(`/etc/netns/${sb.dom0}`, { recursive: true, force: true });
    await sb.cleanup();
  }
});

const xb = (...args: string[]) => cli([...args, '--netns', sb.dom0], sb.env);
const clientDir = (): string => join(scopeDir(sb), 'dhcp');
const clientPid = (): string => readFileSync(join(clientDir(), 'run', 'eth0-4.pid'), 'utf8').trim();
const clientAlive = (): boolean => {
  try {
    return runsDhcpcd(clientPid());
  } catch {
    return false; // no pid file: dhcpcd removes it as it exits
  }
};
const dhcpcdsIn = async (ns: string): Promise<string> => sh(`ip netns pids ${ns} | while read p; do cat /proc/$p/comm; done | grep -c dhcpcd || true`);
const has = (lines: string[], what: string): boolean => lines.some((l) => l.includes(what));

describe('dom0.addresses: dhcp', () => {
  it('after the takeover dom0 gets the reserved address, renews it, shows dhcp, and stop restores the host', async () => {
    const before = await dump(sb.dom0);
    const r = await xb('apply', '-c', cfg);
    expect([r.code, r.stderr]).toEqual([0, '']);
    await waitFor('the reserved address on dom0', async () => (await leaseOn(sb, 'eth0')) !== undefined);
    expect(JSON.parse(await sb.ip('-j link show dev eth0'))[0].address).toBe(srv.mac);
    expect(await sb.ip('-4 addr show dev peth0')).not.toContain('inet ');
    expect(await sb.ip('route show default')).toMatch(/^default via 192\.0\.2\.1 dev eth0 proto dhcp/);
    expect(srv.messages().filter((l) => l.includes(`DHCPACK(sw0) ${RESERVED} ${srv.mac}`)).length).toBe(1);
    expect((await xb('plan', '-c', cfg)).stdout).toBe('no changes');
    const v = await xb('verify', '-c', cfg, '--json');
    expect([v.code, JSON.parse(v.stdout).differences]).toEqual([0, []]);

    // Renewal, on the client's own trigger (SIGUSR1: renew now rather than at T1, a minute away).
    const seen = srv.messages().length;
    await sh(`kill -USR1 ${clientPid()}`);
    await waitFor('a renewal ACK', async () => has(srv.messages(seen), `DHCPACK(sw0) ${RESERVED} ${srv.mac}`), 10_000);
    expect(has(srv.messages(seen), `DHCPREQUEST(sw0) ${RESERVED} ${srv.mac}`)).toBe(true);
    expect(has(srv.messages(seen), 'DHCPDISCOVER')).toBe(false);

    const yaml = await xb('show', '--format', 'yaml');
    expect(yaml.stdout).toContain('addresses: dhcp');
    expect(yaml.stdout).not.toContain('gateway');
    const shown = join(sb.runDir, 'shown.yaml');
    writeFileSync(shown, yaml.stdout);
    expect(await xb('plan', '-c', shown)).toMatchObject({ code: 0, stdout: 'no changes' });

    const pid = clientPid();
    expect((await xb('stop')).code).toBe(0);
    expect(runsDhcpcd(pid)).toBe(false);
    expect(await dhcpcdsIn(sb.dom0)).toBe('0');
    expect(await dump(sb.dom0)).toBe(before);
  });

  it('a lease the NIC holds moves with its lifetime: no DISCOVER, the client renews it on dom0', async () => {
    const own = join(sb.runDir, 'host-client');
    const host = hostClient(sb, own);
    await host.start();
    await waitFor('the host client\'s lease on the NIC', async () => (await leaseOn(sb, 'eth0')) !== undefined);
    await host.stop();
    const onNic = await leaseOn(sb, 'eth0');
    // The machine's DUID and the lease its dhcpcd keeps for eth0, where xenbridge's client finds them.
    mkdirSync(join(clientDir(), 'db'), { recursive: true });
    for (const f of ['duid', 'eth0.lease']) copyFileSync(join(own, 'db', f), join(clientDir(), 'db', f));
    const seen = srv.messages().length;
    const leases = (): string[] => readFileSync(join(sb.runDir, 'dnsmasq.leases'), 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split(' ').slice(1).join(' '));
    const held = leases();
    expect(held).toHaveLength(1);
    expect(held[0]).toMatch(new RegExp(`^${srv.mac} ${RESERVED} \\S+ ff(:[0-9a-f]{2}){5,}$`));

    const r = await xb('apply', '-c', cfg);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(await leaseOn(sb, 'eth0')).toBeDefined();
    // The address moved with the lifetime it had left (the client's REQUEST may since have renewed it).
    const steps = JSON.parse(readFileSync(join(scopeDir(sb), 'history.json'), 'utf8')).steps as { op: { kind: string; dev?: string; addr?: { local: string; validLft?: number } } }[];
    const added = steps.find((st) => st.op.kind === 'addLease' && st.op.addr?.local === RESERVED && st.op.dev === 'eth0');
    const lft = Number(added?.op.addr?.validLft);
    expect(lft).toBeGreaterThan(0);
    expect(lft).toBeLessThanOrEqual(onNic!.valid);
    await waitFor('the renewal on start', async () => has(srv.messages(seen), `DHCPACK(sw0) ${RESERVED} ${srv.mac}`), 10_000);
    expect(has(srv.messages(seen), 'DHCPDISCOVER')).toBe(false);
    expect(has(srv.messages(seen), `DHCPREQUEST(sw0) ${RESERVED} ${srv.mac}`)).toBe(true);
    // One default route: the client's renewal replaced the moved one (same metric), it did not add a second.
    await new Promise((r) => setTimeout(r, 1000)); // the client applies the ACK it got
    expect((await leaseOn(sb, 'eth0'))?.valid).toBeGreaterThan(0);
    expect((await sb.ip('route show default')).split('\n')).toHaveLength(1);
    // The server still knows one lease: same MAC, address and client ID (IAID from the MAC + the DUID).
    expect(leases()).toEqual(held);
    expect(clientAlive()).toBe(true);

    // stop: the client goes, the address is the NIC's again, still a lease with a lifetime.
    expect((await xb('stop')).code).toBe(0);
    expect(clientAlive()).toBe(false);
    expect(JSON.parse(await sb.ip('-j link show dev eth0'))[0].linkinfo).toBeUndefined();
    expect((await leaseOn(sb, 'eth0'))?.valid).toBeGreaterThan(0);
  });

  it('apply killed -9 with the client in the plan: rollback restores the host and leaves no client', async () => {
    const before = await dump(sb.dom0);
    const bad = join(sb.runDir, 'bad.yaml');
    writeFileSync(bad, TOPO.replace('addresses: dhcp', 'addresses: [dhcp, 192.0.2.10/24]'));
    const refused = await xb('apply', '-c', bad);
    expect([refused.code, refused.stderr.split('\n')[0]]).toEqual([65, expect.stringMatching(/^xenbridge: /)]);
    expect(refused.stderr).toContain(`${bad}:6:25: bridges[0].dom0.addresses[1]: 192.0.2.10/24 is a static IPv4 address beside dhcp`);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    const n = JSON.parse((await xb('plan', '-c', cfg, '--format', 'json')).stdout).changes as number;
    // Killed just before the client's step (test/netns/crash.test.ts kills at random steps of the rest).
    const r = await cli(['apply', '-c', cfg, '--netns', sb.dom0], { ...sb.env, XENBRIDGE_FAILPOINT: `kill:${n - 1}` });
    expect(r.code).toBe(-1);
    const rb = await xb('rollback');
    expect(rb.code, rb.stderr).toBe(0);
    expect(await dump(sb.dom0)).toBe(before);
    expect(await dhcpcdsIn(sb.dom0)).toBe('0');
    // Killed while the client's batch runs: that batch finishes on its own (its own session), and
    // rollback learns from its record that the client started, and stops it. The client starts a
    // second late, so the kill lands inside its batch however fast this machine is.
    const real = (await sh('command -v dhcpcd')).trim();
    const slow = join(sb.runDir, 'slow-bin');
    mkdirSync(slow, { recursive: true });
    writeFileSync(join(slow, 'dhcpcd'), `#!/bin/sh\nsleep 1\nexec ${real} "$@"\n`, { mode: 0o755 });
    const run = execa('node', [CLI, 'apply', '-c', cfg, '--netns', sb.dom0], { env: { ...sb.env, PATH: `${slow}:${sb.env.PATH ?? process.env.PATH ?? ''}` }, reject: false });
    const dir = scopeDir(sb);
    await waitFor('the client\'s batch', async () => readdirSync(dir).some((f) => f.endsWith('.batch') && readFileSync(join(dir, f), 'utf8').startsWith('start ')));
    run.kill('SIGKILL');
    await run;
    const rb2 = await xb('rollback');
    expect(rb2.code, rb2.stderr).toBe(0);
    expect(await dump(sb.dom0)).toBe(before);
    expect(await dhcpcdsIn(sb.dom0)).toBe('0');
    // A client that fails to start fails the apply, which is undone.
    const f = await cli(['apply', '-c', cfg, '--netns', sb.dom0], { ...sb.env, XENBRIDGE_FAILPOINT: `${n - 1}` });
    expect(f.code).toBe(4);
    expect(await dump(sb.dom0)).toBe(before);
    // And after a crash, a plain apply converges.
    expect((await xb('apply', '-c', cfg)).code).toBe(0);
    expect(clientAlive()).toBe(true);
  });
});
