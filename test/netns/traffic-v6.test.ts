// Traffic verify of IPv6 paths on this machine's kernel (untagged: no 802.1Q here): the ICMPv6
// echo and the full-size unfragmented echo through every hop of a real apply, neighbour discovery
// through the bridge, a lowered MTU named, and a guest that answers from an address its guard
// does not allow named as guest isolation with the guard's reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyTopology } from '../../src/apply/apply.js';
import { parseTopology } from '../../src/config/validate.js';
import { createContext } from '../../src/context.js';
import { verifyTraffic } from '../../src/verify/traffic/traffic.js';
import { renderTraffic } from '../../src/verify/traffic/report.js';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { cli, sh } from '../helpers/sh.js';
import { makeXenBed, type XenBed } from '../helpers/vif.js';

const TOPOLOGY = 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    mtu: 1500\n';
let sb: Sandbox;
let cfg: string;
let xen: XenBed;
let guest: string;

beforeAll(async () => {
  ({ sb, cfg } = await sandboxWithTopology(TOPOLOGY));
  // dom0's static IPv6 address and route on the NIC: the takeover moves them to dom0's veth end.
  await sb.inSw('ip addr add 2001:db8::1/64 dev sw0 nodad');
  await sb.ip('addr add 2001:db8::10/64 dev eth0 nodad');
  await sb.ip('-6 route add default via 2001:db8::1 dev eth0');
  await applyTopology(parseTopology(TOPOLOGY), createContext({ netns: sb.dom0, runDirRoot: sb.runDir }));
  xen = makeXenBed(sb, cfg);
  // The guest speaks from 2001:db8::99, but xenstore gives it 2001:db8::51 only.
  guest = await xen.makeVif(1, 0, '192.0.2.51/24');
  await sh(`ip -n ${guest} addr add 2001:db8::99/64 dev eth0 nodad`);
  xen.setVif(1, 0, { bridge: 'xenbr0', ip: '192.0.2.51 2001:db8::51' });
  expect((await xen.hook('online', 1, 0)).code).toBe(0);
}, 120_000);
afterAll(async () => {
  await xen.cleanup();
  await sb.cleanup();
});

const verify = async () => verifyTraffic(parseTopology(TOPOLOGY), createContext({ netns: sb.dom0, runDirRoot: sb.runDir }));
const v6Path = async () => (await verify()).paths.find((p) => p.spec.family === 6);

describe('verify --traffic on the untagged IPv6 path', () => {
  it('passes: the echo, the full-size echo and neighbour discovery cross dom0, its veth pair and the uplink', async () => {
    await sb.inDom0('ip -6 neigh flush all');
    const r = await verify();
    const p = r.paths.find((x) => x.spec.family === 6)!;
    expect([p.spec.id, p.spec.target, p.spec.source, p.spec.dfSize, p.ok, p.hops.map((h) => h.hop.dev)])
      .toEqual(['untagged IPv6', '2001:db8::1', '2001:db8::10', 1500, true, ['eth0', 'xenbr0-d0', 'peth0']]);
    expect(p.hops.every((h) => h.checks.length === 4 && h.checks.every((c) => c.ok && c.seen.tags.length === 1 && c.seen.tags[0] === null))).toBe(true);
    // The full-size echo is exactly the MTU: ping -6 -M do -s 1452.
    expect(p.probes.find((x) => x.probe === 'df')?.argv).toEqual(expect.arrayContaining(['-6', '-M', 'do', '-s', '1452']));
    // dom0 had forgotten the switch: its solicitation and the advertisement crossed every hop.
    expect(p.hops.map((h) => h.aux.filter((c) => c.probe === 'nd').map((c) => c.ok))).toEqual([[true, true], [true, true], [true, true]]);
    const text = renderTraffic(r, (ok) => (ok ? 'ok' : 'FAIL'));
    expect(text).toContain('untagged IPv6: ping -6 2001:db8::1 from 2001:db8::10 via eth0; full-size 1500 bytes, unfragmented (-M do)');
    expect(text.at(-1)).toMatch(/^ok 2 of 2 paths pass/);
  });

  it('a probe port standing in for a guest pings the same target from a link-local address of its own, small and full size', async () => {
    const r = await verifyTraffic(parseTopology(TOPOLOGY), createContext({ netns: sb.dom0, runDirRoot: sb.runDir }), { guests: true });
    const p = r.paths.find((x) => x.spec.id === 'guest on xenbr0, untagged IPv6')!;
    expect([p.ok, p.spec.target, p.spec.source?.startsWith('fe80::'), p.spec.dfSize, p.hops.map((h) => `${h.hop.role}:${h.checks.filter((c) => c.ok).length}`)])
      .toEqual([true, '2001:db8::1', true, 1500, ['probe:4', 'uplink:4']]);
    expect(r.paths.map((x) => [x.spec.id, x.ok])).toEqual([['untagged', true], ['untagged IPv6', true], ['guest on xenbr0, untagged', true], ['guest on xenbr0, untagged IPv6', true]]);
  });

  it('probes a link-local gateway from dom0\'s link-local address when that is what the route names', async () => {
    const ll = (json: string): string => (JSON.parse(json) as { addr_info: { local: string; scope: string }[] }[])[0]!.addr_info.find((x) => x.scope === 'link')!.local;
    const sw = ll(await sb.inSw('ip -j -6 addr show dev sw0'));
    const mine = ll(await sb.ip('-j -6 addr show dev eth0'));
    await sb.ip(`-6 route replace default via ${sw} dev eth0`);
    try {
      const p = (await v6Path())!;
      expect([p.spec.target, p.spec.source, p.ok, p.hops.map((h) => h.checks.every((c) => c.ok))]).toEqual([sw, mine, true, [true, true, true]]);
    } finally {
      await sb.ip('-6 route replace default via 2001:db8::1 dev eth0');
    }
  });

  it('names the hop whose MTU is lower: the full-size echo vanishes entering it while the small one passes', async () => {
    await sb.ip('link set dev xenbr0-d0 mtu 1400');
    try {
      const p = (await v6Path())!;
      expect([p.ok, p.vanished?.hop, p.vanished?.probe, p.vanished?.after]).toEqual([false, 'xenbr0-d0', 'df', 'eth0']);
      expect(p.hops.map((h) => h.checks.filter((c) => c.probe === 'echo').every((c) => c.ok))).toEqual([true, true, true]);
      expect(p.diagnoses.map((d) => [d.rule, d.hop])).toEqual([['mtu', 'xenbr0-d0']]);
      expect(p.diagnoses[0]?.message).toContain('the 1500-byte unfragmented ICMPv6 echo request is dropped at xenbr0-d0');
    } finally {
      await sb.ip('link set dev xenbr0-d0 mtu 1500');
    }
  });

  it('names a guest answering from an address not in its xenstore ip as dropped by its guard, with the reason; passes once it uses its own', async () => {
    const run = () => cli(['verify', '--traffic', '-c', cfg, '--netns', sb.dom0, '--vif', 'vif1.0', '--no-probe-ports', '--json'], xen.env);
    const r = await run();
    type J = { ok: boolean; paths: { id: string; family: number; ok: boolean; vanished: { hop: string; probe: string; dir: string } | null; hops: { dev: string; request: { ok: boolean }; reply: { ok: boolean } | null }[]; diagnoses: { rule: string; hop: string; message: string }[] }[] };
    const j = JSON.parse(r.stdout) as J;
    const p = j.paths.find((x) => x.family === 6)!;
    expect([r.code, j.ok, j.paths.find((x) => x.family === 4)?.ok]).toEqual([3, false, true]);
    // The all-nodes echo reached the guest; its answer never got past its port.
    expect(p.hops.find((h) => h.dev === 'vif1.0')?.request.ok).toBe(true);
    expect([p.vanished?.hop, p.vanished?.probe, p.vanished?.dir]).toEqual(['vif1.0', 'mcast', 'reply']);
    expect(p.diagnoses.map((d) => [d.rule, d.hop])).toEqual([['dropped-by-guard', 'vif1.0']]);
    expect(p.diagnoses[0]?.message).toMatch(/^vif1\.0's guard dropped \d+ frame\(s\) while the probes ran \(\d+ IPv6 from an address not in xenstore ip\): the all-nodes ICMPv6 echo reply was stopped by guest isolation, not lost$/);
    // Its solicitations for dom0 from ::99 died at its guard: the guest's kernel holds that neighbour
    // entry FAILED (5 of 5 runs here then sent no answer within the probes' second). A guest that
    // changes its address starts afresh.
    await sh(`ip -n ${guest} addr del 2001:db8::99/64 dev eth0 && ip -n ${guest} addr add 2001:db8::51/64 dev eth0 nodad && ip -n ${guest} neigh flush dev eth0`);
    const ok = JSON.parse((await run()).stdout) as J;
    expect(ok.paths.map((x) => [x.id, x.ok])).toEqual([['untagged', true], ['untagged IPv6', true]]);
    expect(ok.paths[1]?.hops.find((h) => h.dev === 'vif1.0')?.reply?.ok).toBe(true);
  });
});
