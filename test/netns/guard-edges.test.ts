/**
 * Edges of the guard: frames a guest crafts to slip past its rules (fragments, tags, bridge-local
 * groups), and legitimate frames of a trunk guest that must still pass. Tags are crafted: this
 * kernel has no 802.1Q, and a classic bridge forwards tagged frames as they are.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { TRUNK_VIFS } from '../helpers/topologies.js';
import { sendAndCapture, sendFrames, type FrameSpec } from '../helpers/frames.js';
import { cli, sh } from '../helpers/sh.js';
import { dadResult, guestMac, makeXenBed, waitUntil, type XenBed } from '../helpers/vif.js';
import { eui64LinkLocal, guardCommands } from '../../src/plan/guard.js';

const TOPO = TRUNK_VIFS;

let sb: Sandbox;
let xen: XenBed;
let plain: string;
let trunk: string;
let swMac: string;
let dom0Mac: string;
let cfg: string;
const PLAIN = guestMac(1, 0);
const TRUNK = guestMac(2, 0);
const VICTIM = guestMac(3, 0);
const TRUNK_LL = eui64LinkLocal(TRUNK);

beforeAll(async () => {
  ({ sb, cfg } = await sandboxWithTopology(TOPO));
  expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
  xen = makeXenBed(sb, cfg);
  plain = await xen.makeVif(1, 0, '192.0.2.71/24');
  trunk = await xen.makeVif(2, 0);
  xen.setVif(1, 0, { bridge: 'xenbr0', ip: '192.0.2.71' });
  xen.setVif(2, 0, { bridge: 'xenbr0:10:20', ip: '192.0.2.72 2001:db8::72' });
  expect((await xen.hook('online', 1, 0)).code).toBe(0);
  expect((await xen.hook('online', 2, 0)).code).toBe(0);
  swMac = JSON.parse(await sh(`ip -n ${sb.sw} -j link show dev sw0`))[0].address as string;
  dom0Mac = JSON.parse(await sb.ip('-j link show dev eth0'))[0].address as string;
}, 120_000);
afterAll(async () => {
  await xen.cleanup();
  await sb.cleanup();
});

describe('a DHCP request in another guest\'s name', () => {
  it('reaches no DHCP server in fragments either (the chaddr lies past the first fragment)', async () => {
    const release = { src: PLAIN, dst: swMac, kind: 'dhcp' as const, sip: '192.0.2.71', dip: '192.0.2.1' };
    const frames: FrameSpec[] = [
      { id: 'own', ...release },
      { id: 'whole', ...release, chaddr: VICTIM },
      { id: 'frag16', ...release, chaddr: VICTIM, frag4: 16 },
      { id: 'frag8', ...release, chaddr: VICTIM, frag4: 8 },
    ];
    expect(await sendAndCapture([plain, 'eth0'], frames, [['server', sb.sw, 'udp:67']], 800)).toEqual({ server: ['own'] });
  });
});

describe('a trunk guest held to its addresses (bridge=xenbr0:10:20)', () => {
  const v10 = { tags: [[0x8100, 10]] as [number, number][] };
  const own = { ...v10, src: TRUNK, kind: 'ipv4' as const, sip: '192.0.2.72' };
  const watch = (): [string, string, string][] => [['switch', sb.sw, 'sw0'], ['dom0', sb.dom0, 'eth0']];

  it('keeps its legitimate tagged traffic: priority bits, DHCP, ARP probe, DAD, link-local', async () => {
    const frames: FrameSpec[] = [
      { id: 'pcp', ...own, tags: [[0x8100, 0xe000 | 10]] },
      { id: 'dei', ...own, tags: [[0x8100, 0x1000 | 20]] },
      { id: 'discover', ...v10, src: TRUNK, kind: 'dhcp' },
      { id: 'probe', ...v10, src: TRUNK, kind: 'arp', sip: '0.0.0.0', dip: '192.0.2.72' },
      { id: 'dad', ...v10, src: TRUNK, kind: 'ipv6', sip: '::', dip: 'ff02::1:ff00:72', proto: 58 },
      { id: 'll', ...v10, src: TRUNK, kind: 'ipv6', sip: TRUNK_LL },
      { id: 'llfrag', ...v10, src: TRUNK, kind: 'ipv6', sip: TRUNK_LL, frag: 200 },
      { id: 'nall', ...v10, src: TRUNK, kind: 'na', sip: TRUNK_LL, target: TRUNK_LL },
    ];
    const ok = frames.map((f) => f.id).sort();
    expect(await sendAndCapture([trunk, 'eth0'], frames, watch())).toEqual({ switch: ok, dom0: ok });
  });

  it('gets none of its crafted tagged frames out', async () => {
    const frames: FrameSpec[] = [
      { id: 'vid0', ...own, tags: [[0x8100, 0]] },
      { id: 'vid0pcp', ...own, tags: [[0x8100, 0xe000]] },
      { id: 'vid10plus4096', ...own, sip: '192.0.2.9', tags: [[0x8100, 0x1000 | 10]] },
      { id: 'ad10', ...own, tags: [[0x88a8, 10]] },
      { id: 'inner88a8', ...own, tags: [[0x8100, 10], [0x88a8, 20]] },
      { id: 'spoof', ...own, sip: '192.0.2.9' },
      { id: 'snap', ...v10, src: TRUNK, type: 0x0030 },
      { id: 'garp', ...v10, src: TRUNK, kind: 'arp', sip: '192.0.2.1', op: 2 },
      { id: 'ra20', tags: [[0x8100, 20]], src: TRUNK, kind: 'ra' },
      { id: 'rafrag', ...v10, src: TRUNK, kind: 'ipv6', sip: TRUNK_LL, proto: 58, frag: 8 },
      { id: 'narouter', ...v10, src: TRUNK, kind: 'na', sip: TRUNK_LL, target: '2001:db8::1', frag: 8 },
      { id: 'spoof6', ...v10, src: TRUNK, kind: 'ipv6', sip: '2001:db8::9', frag: 200 },
    ];
    // The two cut after 8 bytes lose their marker with the rest: the guard's counters say where they died.
    const drops = async (why: string): Promise<number> => (await sh(`ip netns exec ${sb.dom0} nft list chain bridge xenbridge in-vif2.0`)).split('\n')
      .filter((l) => l.includes(`comment "${why}"`)).reduce((n, l) => n + Number(/counter packets (\d+)/.exec(l)?.[1] ?? 0), 0);
    const cut = ['link-local IPv6 behind a fragment or IPsec header', 'neighbor advertisement for an address not in xenstore ip'];
    const before = await Promise.all(cut.map(drops));
    const seen = await sendAndCapture([trunk, 'eth0'], frames, watch());
    expect(seen).toEqual({ switch: [], dom0: [] });
    expect((await Promise.all(cut.map(drops))).map((n, i) => n - before[i]!)).toEqual([2, 2]);
  });

  it('sends its own tagged traffic, and nothing on its VLANs that another address, a router or a server would', async () => {
    const frames: FrameSpec[] = [
      { id: 'ok', ...own },
      { id: 'ok20', ...own, tags: [[0x8100, 20]] },
      { id: 'okarp', ...v10, src: TRUNK, kind: 'arp', sip: '192.0.2.72' },
      { id: 'ok6', ...v10, src: TRUNK, kind: 'ipv6', sip: '2001:db8::72' },
      { id: 'okna', ...v10, src: TRUNK, kind: 'na', sip: TRUNK_LL, target: '2001:db8::72' },
      { id: 'spoof4', ...own, sip: '192.0.2.99' },
      { id: 'garpdom0', ...v10, src: TRUNK, kind: 'arp', sip: '192.0.2.10', op: 2 },
      { id: 'ra', ...v10, src: TRUNK, kind: 'ra' },
      { id: 'narouter', ...v10, src: TRUNK, kind: 'na', sip: TRUNK_LL, target: '2001:db8::1' },
      { id: 'spoof6', ...v10, src: TRUNK, kind: 'ipv6', sip: '2001:db8::99' },
      { id: 'offer', ...own, sport: 67, dport: 68 },
      { id: 'igmpq', ...v10, src: TRUNK, kind: 'igmpq', sip: '192.0.2.72' },
      { id: 'ipx', ...v10, src: TRUNK, type: 0x8137 },
      { id: 'v30', ...own, tags: [[0x8100, 30]] },
      { id: 'untagged', ...own, tags: [] },
    ];
    const seen = await sendAndCapture([trunk, 'eth0'], frames, watch());
    // dom0's end of the trunk gets VLAN 10 and 20 as the switch does (its VLAN devices sit there).
    const ok = ['ok', 'ok20', 'ok6', 'okarp', 'okna'];
    expect(seen).toEqual({ switch: ok, dom0: ok });
  });
});

describe('a guest\'s frames to each bridge-local group', () => {
  const groups = Array.from({ length: 16 }, (_, i) => i.toString(16).padStart(2, '0'));
  const probe = async (): Promise<Record<string, string[]>> => {
    const dom0Ip = (JSON.parse(await sb.ip('-j -4 addr show dev eth0'))[0].addr_info[0] as { local: string }).local;
    const frames: FrameSpec[] = groups.map((g) => ({ id: `g${g}`, src: PLAIN, dst: `01:80:c2:00:00:${g}`, kind: 'ipv4', sip: '198.51.100.7', dip: dom0Ip, dport: 5556 }));
    const tagged: FrameSpec[] = groups.map((g) => ({ id: `t${g}`, src: TRUNK, dst: `01:80:c2:00:00:${g}`, kind: 'ipv4', sip: '192.0.2.72', dip: dom0Ip, dport: 5556, tags: [[0x8100, 10]] }));
    const a = await sendAndCapture([plain, 'eth0'], frames, [['sock', sb.dom0, 'udp:5556'], ['switch', sb.sw, 'sw0']]);
    const b = await sendAndCapture([trunk, 'eth0'], tagged, [['sock', sb.dom0, 'udp:5556'], ['switch', sb.sw, 'sw0']]);
    return { sock: [...a.sock!, ...b.sock!], switch: [...a.switch!, ...b.switch!] };
  };

  it('reach neither dom0\'s sockets nor the uplink, STP off', async () => {
    expect(await probe()).toEqual({ sock: [], switch: [] });
  }, 120_000);

  it('reach neither dom0\'s sockets nor the uplink, STP on', async () => {
    await sb.ip('link set dev xenbr0 type bridge stp_state 1 forward_delay 200');
    try {
      expect(await probe()).toEqual({ sock: [], switch: [] });
    } finally {
      await sb.ip('link set dev xenbr0 type bridge stp_state 0');
      await sb.ip('link set dev xenbr0 type bridge forward_delay 0');
    }
  }, 120_000);
});

describe('a guarded port whose group_fwd_mask is gone (attached by an older xenbridge, or cleared)', () => {
  it('is an error for verify, and apply puts the mask back', async () => {
    const mask = async (): Promise<string> => (JSON.parse(await sb.ip('-j -d link show dev vif1.0'))[0].linkinfo.info_slave_data as { group_fwd_mask: string }).group_fwd_mask;
    expect((await cli(['verify', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
    await sb.ip('link set dev vif1.0 type bridge_slave group_fwd_mask 0');
    const v = await cli(['verify', '-c', cfg, '--netns', sb.dom0, '--json'], sb.env);
    expect(v.code).toBe(3);
    expect((JSON.parse(v.stdout) as { findings: { rule: string; message: string }[] }).findings.filter((f) => f.rule.startsWith('vif-guard')).map((f) => [f.rule, f.message.split(' ')[0]]))
      .toEqual([['vif-guard-unmasked', 'vif1.0']]);
    const a = await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env);
    expect([a.code, a.stderr]).toEqual([0, expect.stringContaining('set the group_fwd_mask of vif1.0')]);
    expect(await mask()).toBe('0xfffd');
    expect((await cli(['verify', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
  });
});

describe('a guest without ip= (any address from its MAC)', () => {
  it("sends no switch-control frame to the uplink (MRP, CFM, Cisco's CDP and PVST+), and its plain frames pass", async () => {
    const guest = await xen.makeVif(7, 0, '192.0.2.57/24');
    xen.setVif(7, 0, { bridge: 'xenbr0' });
    expect((await xen.hook('online', 7, 0)).code).toBe(0);
    const mac = guestMac(7, 0);
    const frames: FrameSpec[] = [
      { id: 'cdp', src: mac, dst: '01:00:0c:cc:cc:cc', type: 0x40 },
      { id: 'pvst', src: mac, dst: '01:00:0c:cc:cc:cd', type: 0x40 },
      { id: 'mvrp', src: mac, dst: '01:80:c2:00:00:21', type: 0x88f5 },
      { id: 'cfm', src: mac, dst: '01:80:c2:00:00:30', type: 0x8902 },
      { id: 'lacp', src: mac, dst: '01:80:c2:00:00:02', type: 0x8809 },
      { id: 'ok', src: mac, kind: 'ipv4', sip: '203.0.113.7' },
      { id: 'okraw', src: mac, dst: '01:00:0c:cc:cc:ce', type: 0x88b5 },
    ];
    expect(await sendAndCapture([guest, 'eth0'], frames, [['switch', sb.sw, 'sw0']])).toEqual({ switch: ['ok', 'okraw'] });
  });
});

describe("a port's own stack", () => {
  it("gets none of a guest's frames to a bridge-local group (forwarded into its guard): no spoofed UDP reaches dom0's sockets, no RA gives dom0 a route", async () => {
    const guest = await xen.makeVif(6, 0, '192.0.2.56/24');
    xen.setVif(6, 0, { bridge: 'xenbr0', ip: '192.0.2.56' });
    expect((await xen.hook('online', 6, 0)).code).toBe(0);
    const mac = guestMac(6, 0);
    const port = async () => JSON.parse(await sb.ip('-j -d link show dev vif6.0'))[0].linkinfo.info_slave_data as { group_fwd_mask: string };
    expect((await port()).group_fwd_mask).toBe('0xfffd');
    const dom0Ip = (JSON.parse(await sb.ip('-j -4 addr show dev eth0'))[0].addr_info[0] as { local: string }).local;
    // A source the guard refuses on the normal path, sent to each kind of bridge-local group: STP,
    // LACP, 802.1X, LLDP, and one the kernel forwards by default (0x0f).
    const spoofed = ['00', '02', '03', '0e', '0f'].map((g) => ({ id: `udp${g}`, src: mac, dst: `01:80:c2:00:00:${g}`, kind: 'ipv4' as const, sip: '198.51.100.7', dip: dom0Ip, dport: 5555 }));
    const own = { id: 'own', src: mac, dst: dom0Mac, kind: 'ipv4' as const, sip: '192.0.2.56', dip: dom0Ip, dport: 5555 };
    const ra = { id: 'ra0e', src: mac, dst: '01:80:c2:00:00:0e', kind: 'ra' as const, sip: 'fe80::bad', count: 3 };
    const sockets = (): [string, string, string][] => [['dom0', sb.dom0, 'udp:5555']];
    expect(await sendAndCapture([guest, 'eth0'], [...spoofed, own, ra], sockets())).toEqual({ dom0: ['own'] });
    // The same frames at a port left as an older xenbridge left it (no mask, its stack taking RAs):
    // they reach dom0's stack, so the capture above would have seen them.
    await sb.ip('link set dev vif6.0 type bridge_slave group_fwd_mask 0');
    await sh(`ip netns exec ${sb.dom0} sh -c 'echo 1 >/proc/sys/net/ipv6/conf/vif6.0/accept_ra'`);
    const seen = await sendAndCapture([guest, 'eth0'], [...spoofed, own, ra], sockets());
    expect(seen.dom0).toEqual(expect.arrayContaining(['own', 'udp02', 'udp0e']));
    await waitUntil('the RA route', async () => (await sb.ip('-6 route show')).includes('dev vif6.0'));
    await sb.ip('-6 route flush dev vif6.0');
    // Its next online puts the mask back (and accept_ra stays as the test left it: the port is not fresh).
    expect((await xen.hook('online', 6, 0)).code).toBe(0);
    expect((await port()).group_fwd_mask).toBe('0xfffd');
    expect(await sendAndCapture([guest, 'eth0'], [...spoofed, own, ra], sockets())).toEqual({ dom0: ['own'] });
    await new Promise((r) => setTimeout(r, 300));
    expect(await sb.ip('-6 route show')).not.toContain('vif6.0');
  });
});

describe('link-local IPv6 held to the guest\'s own address', () => {
  it('is the one ip= lists when it lists one (a stable-privacy guest): that one works for real, its MAC\'s and the router\'s do not', async () => {
    const ll = 'fe80::a1b2:c3d4:e5f6:58';
    const guest = await xen.makeVif(8, 0, '192.0.2.58/24');
    xen.setVif(8, 0, { bridge: 'xenbr0', ip: `192.0.2.58 ${ll}` });
    expect((await xen.hook('online', 8, 0)).code).toBe(0);
    const mac = guestMac(8, 0);
    const frames: FrameSpec[] = [
      { id: 'own', src: mac, kind: 'ipv6', sip: ll },
      { id: 'ownna', src: mac, kind: 'na', sip: ll, target: ll },
      { id: 'eui64', src: mac, kind: 'ipv6', sip: eui64LinkLocal(mac) },
      { id: 'eui64na', src: mac, kind: 'na', sip: ll, target: eui64LinkLocal(mac) },
      { id: 'router', src: mac, kind: 'na', sip: ll, target: 'fe80::1' },
      { id: 'plain', src: mac, kind: 'na', sip: ll, target: eui64LinkLocal(PLAIN) },
    ];
    expect(await sendAndCapture([guest, 'eth0'], frames, [['switch', sb.sw, 'sw0'], ['plain', plain, 'eth0']])).toEqual({ switch: ['own', 'ownna'], plain: ['own', 'ownna'] });
    // The guest's kernel with that address alone: neighbour discovery both ways, through both guards.
    await sh(`ip -n ${guest} link set dev eth0 addrgenmode none && ip -n ${guest} -6 addr flush dev eth0 scope link && ip -n ${guest} addr add ${ll}/64 dev eth0 nodad`);
    await sh(`ip netns exec ${guest} ping -6 -c1 -W2 ${eui64LinkLocal(PLAIN)}%eth0`);
  });

  it('a guest attached by an older xenbridge (any link-local) is named by verify, and apply holds it', async () => {
    const guest = await xen.makeVif(9, 0, '192.0.2.59/24');
    xen.setVif(9, 0, { bridge: 'xenbr0', ip: '192.0.2.59' });
    expect((await xen.hook('online', 9, 0)).code).toBe(0);
    const mac = guestMac(9, 0);
    // The guard such a version made: link-local sources and targets not held.
    const old = guardCommands({ dev: 'vif9.0', mac, ips: ['192.0.2.59', 'fe80::/10'] }, true);
    writeFileSync(join(sb.runDir, 'old-guard.nft'), `${old.join('\n')}\n`);
    await sh(`ip netns exec ${sb.dom0} nft -f ${join(sb.runDir, 'old-guard.nft')}`);
    const router: FrameSpec[] = [{ id: 'router', src: mac, kind: 'na', sip: eui64LinkLocal(mac), target: 'fe80::1' }];
    expect(await sendAndCapture([guest, 'eth0'], router, [['switch', sb.sw, 'sw0']])).toEqual({ switch: ['router'] });
    const v = await cli(['verify', '-c', cfg, '--netns', sb.dom0, '--json'], sb.env);
    expect(v.code).toBe(3);
    expect((JSON.parse(v.stdout) as { findings: { rule: string; message: string }[] }).findings.filter((f) => f.rule.startsWith('vif-guard')).map((f) => [f.rule, f.message.split(' ')[0]]))
      .toEqual([['vif-guard-differs', 'vif9.0']]);
    expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
    expect((await cli(['verify', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
    expect(await sendAndCapture([guest, 'eth0'], router, [['switch', sb.sw, 'sw0']])).toEqual({ switch: [] });
  });
});

describe('duplicate address detection', () => {
  it("of another guest's address: a guest held to ip= cannot make it fail, one without can (the control)", async () => {
    const victim = await xen.makeVif(10, 0);
    const free = await xen.makeVif(12, 0);
    for (const d of [10, 12]) {
      xen.setVif(d, 0, { bridge: 'xenbr0' });
      expect((await xen.hook('online', d, 0)).code).toBe(0);
    }
    for (const [attacker, mac, addr, want] of [[plain, PLAIN, '2001:db8::a1', 'ok'], [free, guestMac(12, 0), '2001:db8::a2', 'dadfailed']] as const) {
      await sh(`ip -n ${victim} addr add ${addr}/64 dev eth0`);
      const ns: FrameSpec = { id: 'dad', src: mac, dst: `33:33:ff:00:00:${addr.slice(-2)}`, kind: 'ns', target: addr, count: 1 };
      for (let i = 0; i < 8; i++) await sendFrames(attacker, 'eth0', [ns]);
      expect(await dadResult(victim, addr)).toEqual([want]);
    }
  });
});
