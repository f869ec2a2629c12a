import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunner } from '../../src/exec/runner.js';
import { readState } from '../../src/state/read.js';
import { makeSandbox, type Sandbox } from '../helpers/netns.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await makeSandbox();
  await sb.ip('addr add 2001:db8::10/64 nodad dev eth0');
  await sb.ip('-6 route add default via 2001:db8::1 dev eth0');
  await sb.ip('-6 route add 2001:db8:5::/48 via 2001:db8::1 dev eth0 table 100');
});
afterAll(async () => sb.cleanup());

describe('reading the state', () => {
  it('sees the IPv4 and IPv6 routes of the main table, and no other table\'s', async () => {
    const s = await readState(createRunner(sb.dom0));
    const routes = s.routes.filter((r) => r.protocol !== 'kernel').map((r) => `${r.family} ${r.dst} ${r.gateway} ${r.dev}`);
    expect(routes).toEqual(['4 default 192.0.2.1 eth0', '6 default 2001:db8::1 eth0']);
  });

  it('reads the IPv6 address generation mode that `addr show` leaves out', async () => {
    await sb.ip('link set dev eth0 addrgenmode none');
    const s = await readState(createRunner(sb.dom0));
    expect(s.links.find((l) => l.name === 'eth0')?.addrGenMode).toBe('none');
  });
});
