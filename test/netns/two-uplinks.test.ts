// The public + backend layout on the host's kernel: two NICs found by MAC and named fe0/be0, each
// the uplink of its own bridge, dom0 addressed on both networks, a guest on each; and migration
// compatibility between two such hosts, read live.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyTopology, stopNetwork } from '../../src/apply/apply.js';
import { checkPair } from '../../src/compat/check.js';
import { fromShown, fromTopology } from '../../src/compat/host-net.js';
import { parseTopology } from '../../src/config/validate.js';
import { createContext, type Context } from '../../src/context.js';
import type { Runner } from '../../src/exec/runner.js';
import { showModel } from '../../src/show/model.js';
import { readState } from '../../src/state/read.js';
import { addNic, dump, makeSandbox, type Sandbox } from '../helpers/netns.js';
import { sh } from '../helpers/sh.js';

const topology = (fe: string, be: string, last: number): string => `version: 1
names:
  - name: fe0
    match: { mac: "${fe}" }
  - name: be0
    match: { mac: "${be}" }
bridges:
  - name: xenbr0
    uplink: fe0
    dom0: { addresses: [192.0.2.${last}/24], gateway: 192.0.2.1 }
  - name: xenbr1
    uplink: be0
    dom0: { addresses: [10.0.0.${last}/24] }
`;

interface Host {
  sb: Sandbox;
  dom0: Runner;
  ctx: Context;
  guests: string[];
  before: string;
  text: string;
}

const hosts: Host[] = [];

/** A host whose eth0 faces the public switch and eth1 the backend one (both ends in sb.sw). */
const makeHost = async (n: number): Promise<Host> => {
  const sb = await makeSandbox({ dom0Addr: `192.0.2.${10 + n}/24` });
  const fe = `52:54:00:00:0${n}:01`;
  const be = `52:54:00:00:0${n}:02`;
  // Down for the MAC change, so that its link-local address follows the MAC as it will after stop.
  await sb.ip(`link set dev eth0 down && ip -n ${sb.dom0} link set dev eth0 address ${fe} && ip -n ${sb.dom0} link set dev eth0 up && ip -n ${sb.dom0} route add default via 192.0.2.1`);
  await addNic(sb, 'eth1', { mac: be, addr: `10.0.0.${10 + n}/24` });
  await sb.inSw('ip addr add 10.0.0.1/24 dev sweth1');
  // Each guest: a namespace whose veth's dom0 end is attached after the apply, as the vif hook would.
  const guests = [`${sb.dom0}g0`, `${sb.dom0}g1`];
  for (const [i, g] of guests.entries()) {
    await sh(`ip netns add ${g} && ip -n ${g} link set lo up && ip -n ${g} link add name eth0 type veth peer name vg${i} netns ${sb.dom0}`);
    await sh(`ip -n ${g} addr add ${i === 0 ? '192.0.2' : '10.0.0'}.${50 + n}/24 dev eth0 && ip -n ${g} link set dev eth0 up`);
    // Up once, as it will have been by the end (a veth gets its qdisc when first up).
    await sb.ip(`link set dev vg${i} up && ip -n ${sb.dom0} link set dev vg${i} down`);
  }
  const ctx = createContext({ netns: sb.dom0, runDirRoot: sb.runDir });
  const h: Host = { sb, dom0: ctx.runner, ctx, guests, before: await dump(sb.dom0, { anyRouteOrder: true }), text: topology(fe, be, 10 + n) };
  hosts.push(h);
  return h;
};

const ping = async (ns: string, to: string): Promise<boolean> =>
  sh(`ip netns exec ${ns} ping -c1 -W2 -q ${to}`).then(() => true, () => false);

let a: Host;
let b: Host;
beforeAll(async () => {
  a = await makeHost(0);
  b = await makeHost(1);
});
afterAll(async () => {
  for (const h of hosts) {
    for (const g of h.guests) await sh(`ip netns del ${g} 2>/dev/null; true`);
    await h.sb.cleanup();
  }
});

describe('two uplinks, two networks (fe0 public, be0 backend)', () => {
  it('bridges both, keeps dom0 on both, carries a guest on each, and stop undoes it exactly', async () => {
    const t = parseTopology(a.text);
    await applyTopology(t, a.ctx);
    const s = await readState(a.dom0);
    const shown = showModel(s);
    expect(shown.bridges.map((x) => [x.name, x.uplink?.name, x.dom0?.ifname, x.dom0?.addresses])).toEqual([
      ['xenbr0', 'pfe0', 'fe0', ['192.0.2.10/24']],
      ['xenbr1', 'pbe0', 'be0', ['10.0.0.10/24']],
    ]);
    await a.sb.ip('link set dev vg0 master xenbr0 && ip -n ' + a.sb.dom0 + ' link set dev vg1 master xenbr1');
    await a.sb.ip('link set dev vg0 up && ip -n ' + a.sb.dom0 + ' link set dev vg1 up');
    expect(await ping(a.sb.dom0, '192.0.2.1')).toBe(true);
    expect(await ping(a.sb.dom0, '10.0.0.1')).toBe(true);
    expect(await ping(a.guests[0]!, '192.0.2.1')).toBe(true);
    expect(await ping(a.guests[1]!, '10.0.0.1')).toBe(true);
    expect(await ping(a.guests[1]!, '10.0.0.10')).toBe(true);
    // Each guest sees its own network only.
    expect(await ping(a.guests[0]!, '10.0.0.1')).toBe(false);
    await a.sb.ip('link set dev vg0 nomaster && ip -n ' + a.sb.dom0 + ' link set dev vg1 nomaster');
    await a.sb.ip('link set dev vg0 down && ip -n ' + a.sb.dom0 + ' link set dev vg1 down');
    await stopNetwork(a.ctx);
    expect(await dump(a.sb.dom0, { anyRouteOrder: true })).toBe(a.before);
  });

  it('compat: two such hosts (other MACs, the same names) take each other\'s domUs; a host without the backend does not', async () => {
    await applyTopology(parseTopology(a.text), a.ctx);
    await applyTopology(parseTopology(b.text), b.ctx);
    const liveA = fromShown(showModel(await readState(a.dom0)), 'a', 'a.json');
    const liveB = fromShown(showModel(await readState(b.dom0)), 'b', 'b.json');
    expect([checkPair(liveA, liveB), checkPair(liveB, liveA)].map((p) => p.reasons)).toEqual([[], []]);
    const publicOnly = fromTopology(parseTopology('version: 1\nbridges:\n  - {name: xenbr0, uplink: fe0, mtu: 1500}\n'), 'c', 'c.yaml');
    expect(checkPair(liveA, publicOnly).reasons).toEqual(['xenbr1: no such bridge on c']);
    expect(checkPair(publicOnly, liveA)).toMatchObject({ ok: true });
    await stopNetwork(a.ctx);
    await stopNetwork(b.ctx);
    expect([await dump(a.sb.dom0, { anyRouteOrder: true }), await dump(b.sb.dom0, { anyRouteOrder: true })]).toEqual([a.before, b.before]);
  });
});
