import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addNic, dump, macOf, makeSandbox, type Sandbox } from '../helpers/netns.js';
import { cli } from '../helpers/sh.js';

// Debian 12's kernel refuses to rename an up link; this kernel does not. XENBRIDGE_KERNEL makes the
// planner take the down-rename-up path here too.
const OLD_KERNEL = { XENBRIDGE_KERNEL: '6.1.0-28-amd64' };
// Taking one of two NICs down and up reorders the kernel's own IPv6 routes and lags its carrier.
const SETTLED = { anyRouteOrder: true, waitCarrier: true };

let sb: Sandbox;
let cfg: string;
beforeEach(async () => {
  sb = await makeSandbox();
  cfg = join(sb.runDir, 'topology.yaml');
});
afterEach(async () => sb.cleanup());

const run = (args: string[], env: Record<string, string> = {}) => cli([...args, '-c', cfg, '--netns', sb.dom0], { ...sb.env, ...env });
const planLines = async (env: Record<string, string> = {}): Promise<string[]> => (await run(['plan'], env)).stdout.split('\n');

const links = async (): Promise<Record<string, { address: string; operstate: string }>> =>
  Object.fromEntries(JSON.parse(await sb.ip('-j link show')).map((l: { ifname: string }) => [l.ifname, l]));

describe('renaming NICs by MAC at apply time', () => {
  for (const [label, env] of [['taking the NIC down where the kernel requires it', OLD_KERNEL], ['renaming it while up', {}]] as const) {
    it(`keeps addresses and default routes (IPv4 and IPv6) when ${label}; re-apply is a no-op; stop restores`, async () => {
      await sb.ip('addr add 2001:db8::10/64 nodad dev eth0');
      await sb.ip('-6 route add default via 2001:db8::1 dev eth0');
      const mac = await macOf(sb, 'eth0');
      writeFileSync(cfg, `version: 1\nnames:\n  - name: fe0\n    match: { mac: "${mac}" }\n`);
      const before = await dump(sb.dom0, SETTLED);
      const plan = await planLines(env);
      expect(plan.includes('ip link set dev eth0 down')).toBe(label.startsWith('taking'));
      expect(plan).toContain('ip link set dev eth0 name fe0');

      const r = await run(['apply'], env);
      expect([r.code, r.stderr]).toEqual([0, '']);
      await dump(sb.dom0, SETTLED);
      const after = await links();
      expect(after.eth0).toBeUndefined();
      expect([after.fe0?.address, after.fe0?.operstate]).toEqual([mac, 'UP']);
      expect(await sb.ip('-4 addr show dev fe0')).toContain('inet 192.0.2.10/24');
      expect(await sb.ip('-6 addr show dev fe0 scope global')).toContain('inet6 2001:db8::10/64');
      expect(await sb.ip('route show default')).toBe('default via 192.0.2.1 dev fe0 ');
      expect(await sb.ip('-6 route show default')).toContain('default via 2001:db8::1 dev fe0 metric 1024');
      await sb.inDom0('ping -c1 -W2 192.0.2.1');

      expect(await planLines(env)).toEqual(['no changes']);
      expect((await run(['apply'], env)).stdout).toContain('no changes');
      expect((await cli(['stop', '--netns', sb.dom0], sb.env)).code).toBe(0);
      expect(await dump(sb.dom0, SETTLED)).toBe(before);
    });
  }

  it('the issue\'s example: fe0 by MAC becomes xenbr0\'s uplink in one flap; the rule still finds it afterwards', async () => {
    const mac = await macOf(sb, 'eth0');
    await addNic(sb, 'eth1', { mac: '52:54:00:00:00:02', up: false });
    writeFileSync(cfg, `version: 1\nnames:\n  - name: fe0\n    match: { mac: "${mac}" }\n  - name: be0\n    match: { mac: "52:54:00:00:00:02" }\nbridges:\n  - name: xenbr0\n    uplink: fe0\n`);
    const plan = await planLines(OLD_KERNEL);
    expect(plan.filter((l) => /^ip link set dev \S+ (down|name \S+)$/.test(l))).toEqual(['ip link set dev eth1 name be0', 'ip link set dev eth0 down', 'ip link set dev eth0 name pfe0']);
    const r = await run(['apply'], OLD_KERNEL);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const after = await links();
    expect(Object.keys(after).sort()).toEqual(['be0', 'fe0', 'lo', 'pfe0', 'xenbr0', 'xenbr0-d0']);
    expect([after.fe0?.address, after.pfe0?.address]).toEqual([mac, 'fe:ff:ff:ff:ff:ff']);
    expect(await sb.ip('route show default')).toBe('default via 192.0.2.1 dev fe0 ');
    await sb.inDom0('ping -c1 -W2 192.0.2.1');
    expect(await planLines(OLD_KERNEL)).toEqual(['no changes']);
  });
});

describe('swapping eth0 and eth1', () => {
  const setup = async (): Promise<{ mac0: string; mac1: string }> => {
    await addNic(sb, 'eth1', { mac: '52:54:00:00:00:02', addr: '198.51.100.10/24' });
    const mac0 = await macOf(sb, 'eth0');
    const mac1 = await macOf(sb, 'eth1');
    writeFileSync(cfg, `version: 1\nnames:\n  - name: eth1\n    match: { mac: "${mac0}" }\n  - name: eth0\n    match: { mac: "${mac1}" }\n`);
    return { mac0, mac1 };
  };

  for (const [label, env] of [['down-rename-up', OLD_KERNEL], ['live', {}]] as const) {
    it(`(${label}) a failure at every step restores the namespace exactly; then the swap applies and re-applies as a no-op`, async () => {
      const { mac0, mac1 } = await setup();
      const before = await dump(sb.dom0, SETTLED);
      const plan = await run(['plan', '--format', 'json'], env);
      const n = JSON.parse(plan.stdout).changes as number;
      expect(n).toBe(label === 'live' ? 3 : 9);
      for (let k = 0; k < n; k++) {
        const r = await run(['apply'], { ...env, XENBRIDGE_FAILPOINT: String(k) });
        expect(r.code, `step ${k}: ${r.stderr}`).toBe(4);
        expect(await dump(sb.dom0, SETTLED), `state after a failure at step ${k}`).toBe(before);
      }
      const ok = await run(['apply'], env);
      expect([ok.code, ok.stderr]).toEqual([0, '']);
      await dump(sb.dom0, SETTLED);
      const after = await links();
      expect([after.eth0?.address, after.eth1?.address, after.eth0?.operstate, after.eth1?.operstate]).toEqual([mac1, mac0, 'UP', 'UP']);
      expect(await sb.ip('-4 -o addr show dev eth1')).toContain('192.0.2.10/24');
      expect(await sb.ip('-4 -o addr show dev eth0')).toContain('198.51.100.10/24');
      expect(await sb.ip('route show default')).toBe('default via 192.0.2.1 dev eth1 ');
      await sb.inDom0('ping -c1 -W2 192.0.2.1');
      expect(await planLines(env)).toEqual(['no changes']);
    });
  }
});
