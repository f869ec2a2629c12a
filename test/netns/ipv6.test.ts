// IPv6 across the takeover: static addresses and routes move to dom0's interface like IPv4 and back
// on stop; bridge ports (the NIC, dom0's peer end, vifs) carry no IPv6 address (addrgenmode none),
// and stop gives the NIC its mode and its link-local address back.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dump, sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { cli } from '../helpers/sh.js';
import { TAKEOVER_ONLY } from '../helpers/topologies.js';
import { makeXenBed } from '../helpers/vif.js';

let sb: Sandbox;
let cfg: string;
beforeEach(async () => {
  ({ sb, cfg } = await sandboxWithTopology(TAKEOVER_ONLY));
  await sb.inSw('ip addr add 2001:db8::1/64 dev sw0');
  await sb.ip('addr add 2001:db8::10/64 dev eth0');
  await sb.ip('route add ::/0 via 2001:db8::1 dev eth0');
});
afterEach(async () => sb.cleanup());

const apply = (env: Record<string, string> = {}) => cli(['apply', '-c', cfg, '--netns', sb.dom0], { ...sb.env, ...env });
const link = async (name: string) => JSON.parse(await sb.ip(`-j -d link show dev ${name}`))[0];
const inet6 = async (name: string): Promise<string[]> =>
  JSON.parse(await sb.ip(`-j -6 addr show dev ${name}`))[0]?.addr_info?.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`) ?? [];

describe('IPv6 in the takeover', () => {
  // 6.1.0: the path of kernels that rename only a link that is down (the NIC goes down and up).
  it.each([['this kernel', {}], ['a kernel before 6.3', { XENBRIDGE_KERNEL: '6.1.0' }]])('%s: moves static addresses and routes to dom0, leaves no address on the ports, and stop restores all of it', async (_, env) => {
    const before = await dump(sb.dom0);
    const nicLinkLocal = (await inet6('eth0')).find((a) => a.startsWith('fe80:'));
    expect(nicLinkLocal).toBeDefined();
    const r = await apply(env);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(await inet6('eth0')).toContain('2001:db8::10/64');
    expect(await sb.ip('-6 route show default')).toContain('default via 2001:db8::1 dev eth0');
    for (const port of ['peth0', 'xenbr0-d0']) {
      expect((await link(port)).inet6_addr_gen_mode).toBe('none');
      expect(await inet6(port)).toEqual([]);
    }
    await sb.inDom0('ping -6 -c1 -W2 2001:db8::1');
    await sb.inSw('ping -6 -c1 -W2 2001:db8::10');

    expect((await cli(['stop', '--netns', sb.dom0], sb.env)).code).toBe(0);
    expect(await dump(sb.dom0)).toBe(before);
    expect((await link('eth0')).inet6_addr_gen_mode).toBe('eui64');
    expect(await inet6('eth0')).toEqual(expect.arrayContaining(['2001:db8::10/64', nicLinkLocal]));
  });

  it('a vif the hook attaches gets no link-local address', async () => {
    expect((await apply()).code).toBe(0);
    const xen = makeXenBed(sb, cfg);
    try {
      await xen.makeVif(3, 0);
      xen.setVif(3, 0, { bridge: 'xenbr0' });
      expect((await xen.hook('online', 3, 0)).code).toBe(0);
      expect((await link('vif3.0')).inet6_addr_gen_mode).toBe('none');
      expect(await inet6('vif3.0')).toEqual([]);
    } finally {
      await xen.cleanup();
    }
  });
});
