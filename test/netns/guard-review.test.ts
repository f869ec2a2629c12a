/**
 * A review of the link-local and address-probe holds (guards of guests held to ip=): neighbor
 * advertisements and DAD solicitations for another's address behind IPv6 extension headers, tagged
 * on a trunk, and unusual ip= values through the hook. The guests' own traffic still passes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { TRUNK_VIFS } from '../helpers/topologies.js';
import { sendAndCapture, sendFrames, type FrameSpec } from '../helpers/frames.js';
import { cli, sh } from '../helpers/sh.js';
import { dadResult, guestMac, makeXenBed, type XenBed } from '../helpers/vif.js';
import { eui64LinkLocal } from '../../src/plan/guard.js';

const TOPO = TRUNK_VIFS;

let sb: Sandbox;
let xen: XenBed;
let cfg: string;
let evil: string;
let victim: string;
let trunk: string;
const EVIL = guestMac(40, 0);
const VICTIM = guestMac(41, 0);
const TRUNK = guestMac(42, 0);
const EVIL_LL = eui64LinkLocal(EVIL);
const TRUNK_LL = eui64LinkLocal(TRUNK);
// Hop-by-hop, destination options, routing header (type 0, no segments left), two of them, an atomic fragment.
const CHAINS: [string, number[]][] = [['hbh', [0]], ['dst', [60]], ['rt', [43]], ['hbhdst', [0, 60]], ['dstrt', [60, 43]], ['afrag', [44]]];


beforeAll(async () => {
  ({ sb, cfg } = await sandboxWithTopology(TOPO));
  expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
  xen = makeXenBed(sb, cfg);
  evil = await xen.makeVif(40, 0, '192.0.2.40/24');
  victim = await xen.makeVif(41, 0, '192.0.2.41/24');
  trunk = await xen.makeVif(42, 0);
  xen.setVif(40, 0, { bridge: 'xenbr0', ip: '192.0.2.40 2001:db8::40' });
  xen.setVif(41, 0, { bridge: 'xenbr0', ip: '192.0.2.41 2001:db8::41' });
  xen.setVif(42, 0, { bridge: 'xenbr0:10:20', ip: '192.0.2.42 2001:db8::42' });
  for (const d of [40, 41, 42]) expect((await xen.hook('online', d, 0)).code).toBe(0);
}, 120_000);
afterAll(async () => {
  await xen.cleanup();
  await sb.cleanup();
});

const watch = (): [string, string, string][] => [['switch', sb.sw, 'sw0'], ['dom0', sb.dom0, 'eth0'], ['victim', victim, 'eth0']];

describe('neighbor advertisements and DAD solicitations behind IPv6 extension headers', () => {
  it("for another's address reach nobody; for its own they pass (an atomic fragment of NDP never: RFC 6980)", async () => {
    const frames: FrameSpec[] = CHAINS.flatMap(([n, ext]) => [
      { id: `narouter${n}`, src: EVIL, kind: 'na', sip: EVIL_LL, target: 'fe80::1', ext },
      { id: `navictim${n}`, src: EVIL, kind: 'na', sip: EVIL_LL, target: eui64LinkLocal(VICTIM), ext },
      { id: `dadvictim${n}`, src: EVIL, kind: 'ns', target: '2001:db8::41', ext },
      { id: `dadvictimll${n}`, src: EVIL, kind: 'ns', target: eui64LinkLocal(VICTIM), ext },
      { id: `ok${n}na`, src: EVIL, kind: 'na', sip: EVIL_LL, target: EVIL_LL, ext },
      { id: `ok${n}dad`, src: EVIL, kind: 'ns', target: '2001:db8::40', ext },
    ]);
    const ok = CHAINS.filter(([n]) => n !== 'afrag').flatMap(([n]) => [`ok${n}dad`, `ok${n}na`]).sort();
    expect(await sendAndCapture([evil, 'eth0'], frames, watch())).toEqual({ switch: ok, dom0: ok, victim: ok });
  });

  it("make no victim's DAD fail, which the same solicitations from a guest without ip= do (the control)", async () => {
    const free = await xen.makeVif(43, 0);
    xen.setVif(43, 0, { bridge: 'xenbr0' });
    expect((await xen.hook('online', 43, 0)).code).toBe(0);
    for (const [attacker, mac, addr, want] of [[evil, EVIL, '2001:db8::a41', 'ok'], [free, guestMac(43, 0), '2001:db8::b41', 'dadfailed']] as const) {
      await sh(`ip -n ${victim} addr add ${addr}/64 dev eth0`);
      const ns: FrameSpec[] = CHAINS.filter(([n]) => n !== 'afrag').map(([n, ext]) => ({ id: `dad${n}`, src: mac, kind: 'ns', target: addr, ext, count: 1 }));
      for (let i = 0; i < 4; i++) await sendFrames(attacker, 'eth0', ns);
      expect(await dadResult(victim, addr)).toEqual([want]);
    }
  });
});

describe('a first fragment that ends in an extension header (RFC 7112)', () => {
  it('is dropped, whatever it hides (an NA for fe80::1 behind destination options); a whole first fragment of its own UDP passes', async () => {
    // Cut before the NA, the frame carries no marker a capture could see: the guard's counter says where it died.
    const split = async (): Promise<number> =>
      Number(/frag frag-off 0 .* counter packets (\d+) /.exec(await sh(`ip netns exec ${sb.dom0} nft list chain bridge xenbridge in-vif40.0`))?.[1] ?? -1);
    const before = await split();
    const frames: FrameSpec[] = [
      { id: 'split', src: EVIL, kind: 'na', sip: '2001:db8::40', target: 'fe80::1', inner: [60], frag: 8 },
      { id: 'okfrag', src: EVIL, kind: 'ipv6', sip: '2001:db8::40', frag: 200 },
    ];
    expect(await sendAndCapture([evil, 'eth0'], frames, watch())).toEqual({ switch: ['okfrag'], dom0: ['okfrag'], victim: ['okfrag'] });
    expect(await split()).toBe(before + 2);
  });
});

describe('a trunk guest held to ip= (bridge=xenbr0:10:20)', () => {
  it("sends no tagged NA, DAD or ARP probe for another's address, with or without extension headers; its own pass", async () => {
    const v10 = { tags: [[0x8100, 10]] as [number, number][], src: TRUNK };
    const frames: FrameSpec[] = [[], [0], [60, 43]].flatMap((ext, i): FrameSpec[] => [
      { id: `narouter${i}`, ...v10, kind: 'na', sip: TRUNK_LL, target: 'fe80::1', ext },
      { id: `nadom0${i}`, ...v10, kind: 'na', sip: TRUNK_LL, target: '2001:db8::1', ext },
      { id: `dadvictim${i}`, ...v10, kind: 'ns', target: '2001:db8::41', ext },
      { id: `dadll${i}`, ...v10, kind: 'ns', target: 'fe80::1', ext },
      { id: `llspoof${i}`, ...v10, kind: 'ipv6', sip: 'fe80::1', ext },
      { id: `ok${i}na`, ...v10, kind: 'na', sip: TRUNK_LL, target: '2001:db8::42', ext },
      { id: `ok${i}dad`, ...v10, kind: 'ns', target: TRUNK_LL, ext },
      { id: `ok${i}ll`, ...v10, kind: 'ipv6', sip: TRUNK_LL, ext },
    ]).concat([
      { id: 'probevictim', ...v10, kind: 'arp', sip: '0.0.0.0', dip: '192.0.2.41' },
      { id: 'probedom0', tags: [[0x8100, 20]], src: TRUNK, kind: 'arp', sip: '0.0.0.0', dip: '192.0.2.10' },
      { id: 'okprobe', ...v10, kind: 'arp', sip: '0.0.0.0', dip: '192.0.2.42' },
    ]);
    const ok = [...[0, 1, 2].flatMap((i) => [`ok${i}dad`, `ok${i}ll`, `ok${i}na`]), 'okprobe'].sort();
    expect(await sendAndCapture([trunk, 'eth0'], frames, [['switch', sb.sw, 'sw0'], ['dom0', sb.dom0, 'eth0']])).toEqual({ switch: ok, dom0: ok });
  });
});

describe("a guest's own address probes (real stacks)", () => {
  it('its DAD (with the RFC 7527 nonce) and its ARP probe find a real duplicate of its own address; a probe for another address is dropped', async () => {
    const guest = await xen.makeVif(44, 0);
    xen.setVif(44, 0, { bridge: 'xenbr0', ip: '192.0.2.44 2001:db8::44' });
    expect((await xen.hook('online', 44, 0)).code).toBe(0);
    // A host behind the uplink holds the guest's addresses (a real conflict): the guest must hear of it.
    await sh(`ip -n ${sb.sw} addr add 2001:db8::44/64 dev sw0 nodad && ip -n ${sb.sw} addr add 192.0.2.44/24 dev sw0`);
    try {
      await sh(`ip -n ${guest} addr add 2001:db8::44/64 dev eth0`);
      expect(await dadResult(guest, '2001:db8::44')).toEqual(['dadfailed']);
      // arping -D: exit 1 when the address is in use (an answer came).
      const probe = async (addr: string): Promise<number> => (await sh(`ip netns exec ${guest} arping -D -c 2 -w 3 -I eth0 ${addr} >/dev/null 2>&1; echo $?`)).trim() === '1' ? 1 : 0;
      expect(await probe('192.0.2.44')).toBe(1);
      expect(await probe('192.0.2.41')).toBe(0);
    } finally {
      await sh(`ip -n ${sb.sw} addr del 2001:db8::44/64 dev sw0; ip -n ${sb.sw} addr del 192.0.2.44/24 dev sw0; true`);
    }
  });
});

describe('unusual ip= values through the hook', () => {
  const nd = async (dev: string): Promise<string[]> =>
    (await sh(`ip netns exec ${sb.dom0} nft list chain bridge xenbridge in-${dev}`)).split('\n').map((l) => l.trim())
      .filter((l) => /nd-neighbor|arp saddr ip 0\.0\.0\.0|^ip6 saddr \S+ accept$/.test(l) && !l.includes('exthdr frag')).map((l) => l.replace(/counter packets \d+ bytes \d+ /, ''));
  it.each([
    ['odd spellings of one address', 'FE80:0:0:0::1 ::ffff:192.0.2.45', [
      'arp saddr ip 0.0.0.0 drop comment "address probe (ARP or DAD) for an address not in xenstore ip"',
      'icmpv6 type nd-neighbor-advert @th,64,128 != 0xfe800000000000000000000000000001 @th,64,128 != 0xffffc000022d drop comment "neighbor advertisement for an address not in xenstore ip"',
      'ip6 saddr :: icmpv6 type nd-neighbor-solicit @th,64,128 != 0xfe800000000000000000000000000001 @th,64,128 != 0xffffc000022d drop comment "address probe (ARP or DAD) for an address not in xenstore ip"',
      'ip6 saddr :: accept', 'ip6 saddr fe80::1 accept', 'ip6 saddr ::ffff:192.0.2.45 accept',
    ]],
    ['prefixes, host bits set', '192.0.2.45/24 2001:db8::45/64 fe80::/10', [
      'arp saddr ip 0.0.0.0 arp daddr ip 192.0.2.0/24 accept',
      'arp saddr ip 0.0.0.0 drop comment "address probe (ARP or DAD) for an address not in xenstore ip"',
      'icmpv6 type nd-neighbor-advert @th,64,64 != 0x20010db800000000 @th,64,16 & 0xffc0 != 0xfe80 drop comment "neighbor advertisement for an address not in xenstore ip"',
      'ip6 saddr :: icmpv6 type nd-neighbor-solicit @th,64,64 != 0x20010db800000000 @th,64,16 & 0xffc0 != 0xfe80 drop comment "address probe (ARP or DAD) for an address not in xenstore ip"',
      'ip6 saddr :: accept', 'ip6 saddr 2001:db8::/64 accept', 'ip6 saddr fe80::/10 accept',
    ]],
    ['everything', '0.0.0.0/0 ::/0', [
      'arp saddr ip 0.0.0.0 arp daddr ip 0.0.0.0/0 accept',
      'arp saddr ip 0.0.0.0 drop comment "address probe (ARP or DAD) for an address not in xenstore ip"',
      'arp saddr ip 0.0.0.0/0 accept',
      'ip6 saddr :: accept', 'ip6 saddr ::/0 accept', `ip6 saddr ${eui64LinkLocal(guestMac(45, 0))} accept`,
    ]],
  ])('%s (%s): nft takes the guard as meant', async (_what, ip, want) => {
    if (!(await sh(`ip -n ${sb.dom0} -br link`)).includes('vif45.0')) await xen.makeVif(45, 0);
    xen.setVif(45, 0, { bridge: 'xenbr0', ip });
    const r = await xen.hook('online', 45, 0);
    expect([r.code, r.stderr]).toEqual([0, expect.any(String)]);
    expect(await nd('vif45.0')).toEqual(want);
  });
});

describe('an ip= too long for one nft rule', () => {
  it('is refused with one line naming the limit; the port is not in the bridge and has no guard', async () => {
    // 25 IPv6 entries: one comparison each in the rule that holds a neighbor advertisement's target.
    const many = Array.from({ length: 25 }, (_, i) => `2001:db8:${(i + 1).toString(16)}::/63`).join(' ');
    await xen.makeVif(46, 0);
    xen.setVif(46, 0, { bridge: 'xenbr0', ip: `192.0.2.46 ${many}` });
    const r = await xen.hook('online', 46, 0);
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('ip lists 25 IPv6 addresses or prefixes (at most 24;')]);
    expect(r.stderr).not.toContain('nft');
    const port = JSON.parse(await sb.ip('-j link show dev vif46.0'))[0] as { master?: string };
    expect(port.master).toBeUndefined();
    expect(await sh(`ip netns exec ${sb.dom0} nft list table bridge xenbridge`)).not.toContain('vif46.0');
    // 24, on no byte boundary (the harder case for nft): attached, guarded.
    xen.setVif(46, 0, { bridge: 'xenbr0', ip: `192.0.2.46 ${many.split(' ').slice(1).join(' ')}` });
    expect((await xen.hook('online', 46, 0)).code).toBe(0);
    expect(await sh(`ip netns exec ${sb.dom0} nft list chain bridge xenbridge in-vif46.0`)).toContain('2001:db8:19::/63');
  });
});
