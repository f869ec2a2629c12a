import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dump, sandboxWithTopology, withoutTimers, type Sandbox } from '../helpers/netns.js';
import { cli } from '../helpers/sh.js';

// Xen's own scripts create bridges with STP off and a forward delay of 0: a value STP forbids.
const TOPO = `version: 1
bridges:
  - name: xenbr0
    stp: true
    forward-delay: 4
`;

let sb: Sandbox;
let cfg: string;
beforeEach(async () => {
  ({ sb, cfg } = await sandboxWithTopology(TOPO));
  await sb.ip('link add name xenbr0 address 02:00:00:00:0b:01 type bridge stp_state 0 forward_delay 0');
  // No IPv6: its link-local address and routes would appear when the bridge first gets a carrier, and stay.
  await sb.inDom0('sysctl -qw net.ipv6.conf.xenbr0.disable_ipv6=1');
  await sb.ip('link set dev xenbr0 up');
});
afterEach(async () => sb.cleanup());

/** The namespace, less what running a bridge moves by itself (its timers) or for good once it had a port (tso_max_size). */
const state = async (): Promise<string> =>
  withoutTimers(await dump(sb.dom0)).replace(/"tso_max_size":\d+/g, '"tso_max_size":_');
const xb = (...args: string[]) => cli([...args, '--netns', sb.dom0], sb.env);
const stpOf = async (): Promise<[number, number]> => {
  const info = JSON.parse(await sb.ip('-j -d link show dev xenbr0'))[0].linkinfo.info_data;
  return [info.stp_state, info.forward_delay];
};

describe('STP and forward delay on an existing bridge', () => {
  it('try, then rollback: STP off and a delay of 0 again, exactly', async () => {
    const before = await state();
    const t = await xb('try', '60', '-c', cfg);
    expect(t.code, t.stderr).toBe(0);
    expect(await stpOf()).toEqual([1, 400]);
    const rb = await xb('rollback');
    expect([rb.code, rb.stderr]).toEqual([0, '']);
    expect(await stpOf()).toEqual([0, 0]);
    expect(await state()).toBe(before);
  });

  it('apply, then stop: restored exactly', async () => {
    const before = await state();
    expect((await xb('apply', '-c', cfg)).code).toBe(0);
    const stop = await xb('stop');
    expect([stop.code, stop.stderr]).toEqual([0, '']);
    expect(await state()).toBe(before);
  });

  it('turning STP off with a delay STP forbids applies, and its failure at either step is undone', async () => {
    await sb.ip('link set dev xenbr0 type bridge forward_delay 1500 stp_state 1');
    cfgOff();
    const before = await state();
    const plan = await xb('plan', '-c', cfg);
    expect(plan.stdout).toContain('ip link set dev xenbr0 type bridge stp_state 0\nip link set dev xenbr0 type bridge forward_delay 0\n');
    for (const k of [1, 2]) {
      const at = plan.stdout.split('\n').indexOf('ip link set dev xenbr0 type bridge stp_state 0') + k;
      const r = await cli(['apply', '-c', cfg, '--netns', sb.dom0], { ...sb.env, XENBRIDGE_FAILPOINT: String(at) });
      expect(r.code, r.stderr).toBe(4);
      expect(await state()).toBe(before);
    }
    expect((await xb('apply', '-c', cfg)).code).toBe(0);
    expect(await stpOf()).toEqual([0, 0]);
    expect((await xb('stop')).code).toBe(0);
    expect(await state()).toBe(before);
  });
});

const cfgOff = (): void => {
  writeFileSync(cfg, TOPO.replace('stp: true', 'stp: false').replace('forward-delay: 4', 'forward-delay: 0'));
};
