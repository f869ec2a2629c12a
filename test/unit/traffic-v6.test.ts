// The IPv6 paths of the traffic verify, pure parts: frames decoded, the paths planned from the
// live state, the ping -6 command lines, and from captures to "where frames vanish" and why.
import { describe, expect, it } from 'vitest';
import type { Addr, HostState } from '../../src/state/types.js';
import { decodeEthernet, ip6, type Frame } from '../../src/verify/traffic/frame.js';
import { echoPattern, isProbe } from '../../src/verify/traffic/match.js';
import { findFailures, hopResults, type Captured } from '../../src/verify/traffic/observe.js';
import { guestPlan } from '../../src/verify/traffic/guests.js';
import { canon6, derivePaths6, probeLinkLocal, source6 } from '../../src/verify/traffic/paths6.js';
import { pickTarget } from '../../src/verify/traffic/targets.js';
import { probesFor } from '../../src/verify/traffic/probe.js';
import { diagnose } from '../../src/verify/traffic/rules.js';
import type { Check, PathSpec, VifExpectation } from '../../src/verify/traffic/types.js';
import { DOM0_MAC, lab, labState, link, NONCE } from '../helpers/traffic-model.js';

const a6 = (cidr: string, scope = 'global'): Addr => {
  const [local = '', len = '64'] = cidr.split('/');
  return { family: 6, local, prefixlen: Number(len), scope, flags: [], managed: scope === 'link' };
};

/** The classic lab with dom0's IPv6 address and route on eth0 (or a link-local gateway), and one on VLAN 10's bridge. */
const state6 = (gateway = '2001:db8::1'): HostState => {
  const s = labState('classic');
  const add = (name: string, addrs: Addr[]): void => {
    const l = s.links.find((x) => x.name === name)!;
    l.addrs = [...l.addrs, ...addrs];
  };
  add('eth0', [a6('2001:db8::10/64'), a6('fe80::a800:ff:fe00:1/64', 'link')]);
  add('xenbr0v10', [a6('2001:db8:10::2/64')]);
  return { ...s, routes: [...s.routes, { family: 6, dst: 'default', gateway, dev: 'eth0', onlink: false }] };
};

const VIF: VifExpectation = { vif: 'vif3.0', source: 'xenstore', request: 'xenbr0', bridge: 'xenbr0', carries: [{ vid: null, tag: null }], ip6: ['2001:db8::51'] };

const summary = (p: PathSpec) => [p.id, p.family, p.target, p.source, p.origin, p.dfSize, p.index, p.hops.map((h) => `${h.dev}:${h.role}:${h.tag ?? '-'}:${h.checks.map((c) => `${c.probe}.${c.dir}`).join(',')}`)];

describe('IPv6 frames', () => {
  it('writes addresses as RFC 5952 does (and as ip -j and canon6 do)', () => {
    const cases: [string, string][] = [
      ['20010db8000000000000000000000001', '2001:db8::1'], ['fe800000000000000000000000000001', 'fe80::1'],
      ['ff020000000000000000000000000001', 'ff02::1'], ['00000000000000000000000000000000', '::'],
      ['20010db8000000010000000000000001', '2001:db8:0:1::1'], ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
      ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], ['ff0200000000000000000001ff000010', 'ff02::1:ff00:10'],
    ];
    for (const [hex, text] of cases) {
      expect(ip6(Buffer.from(hex, 'hex'), 0)).toBe(text);
      expect(canon6(text.toUpperCase())).toBe(text);
    }
    expect(canon6('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
  });

  it('decodes an ICMPv6 echo and a neighbour solicitation, tagged or not; a short one as far as it goes', () => {
    const ipv6 = (next: number, src: string, dst: string, payload: Buffer): Buffer => {
      const h = Buffer.alloc(40);
      h[0] = 0x60;
      h.writeUInt16BE(payload.length, 4);
      h[6] = next;
      h[7] = 64;
      Buffer.from(src, 'hex').copy(h, 8);
      Buffer.from(dst, 'hex').copy(h, 24);
      return Buffer.concat([h, payload]);
    };
    const eth = (type: number, body: Buffer, tag?: number): Buffer => Buffer.concat([
      Buffer.from('aa0000000001' + '5a0000000099', 'hex'), ...(tag ? [Buffer.from([0x81, 0x00, 0, tag])] : []), Buffer.from([type >> 8, type & 0xff]), body]);
    const echo = Buffer.concat([Buffer.from([128, 0, 0, 0, 0x12, 0x34, 0, 1]), Buffer.from('xbvi')]);
    const f = decodeEthernet(eth(0x86dd, ipv6(58, '20010db8000000000000000000000010', '20010db8000000000000000000000001', echo), 10))!;
    expect([f.vids, f.ethertype, f.ipv6?.src, f.ipv6?.dst, f.ipv6?.next, f.ipv6?.payloadLength, f.ipv6?.icmp?.type, f.ipv6?.icmp?.id, f.ipv6?.icmp?.payload.toString()])
      .toEqual([[10], 0x86dd, '2001:db8::10', '2001:db8::1', 58, 12, 128, 0x1234, 'xbvi']);
    const ns = Buffer.concat([Buffer.from([135, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('20010db8000000000000000000000001', 'hex')]);
    const g = decodeEthernet(eth(0x86dd, ipv6(58, '20010db8000000000000000000000010', 'ff0200000000000000000001ff000001', ns)))!;
    expect([g.ipv6?.dst, g.ipv6?.icmp?.type, ip6(g.ipv6!.icmp!.payload, 0)]).toEqual(['ff02::1:ff00:1', 135, '2001:db8::1']);
    // Not ICMPv6 (UDP), and a header cut short: decoded as far as the bytes go.
    const udp = decodeEthernet(eth(0x86dd, ipv6(17, '00'.repeat(16), '00'.repeat(16), Buffer.alloc(8))))?.ipv6;
    expect([udp?.next, udp?.icmp]).toEqual([17, undefined]);
    expect(decodeEthernet(eth(0x86dd, Buffer.from('6000', 'hex')))?.ipv6).toBeUndefined();
  });
});

describe('derivePaths6', () => {
  it('one IPv6 path per network where dom0 has IPv6 and something answers: the route\'s gateway; the file\'s probe on a VLAN', () => {
    const t = lab('classic');
    const withProbe = { ...t, bridges: t.bridges.map((b) => ({ ...b, vlans: b.vlans.map((v) => (v.id === 10 ? { ...v, probe: '2001:DB8:10::1' } : v)) })) };
    const { paths, skipped } = derivePaths6(withProbe, state6(), [VIF], [], 3);
    expect(paths.map(summary)).toEqual([
      ['untagged IPv6', 6, '2001:db8::1', '2001:db8::10', 'eth0', 1500, 3, [
        'eth0:dom0:-:echo.request,echo.reply,df.request,df.reply', 'xenbr0-d0:bridge-port:-:echo.request,echo.reply,df.request,df.reply',
        'peth0:uplink:-:echo.request,echo.reply,df.request,df.reply', 'vif3.0:vif:-:mcast.request,mcast.reply']],
      ['vlan 10 IPv6', 6, '2001:db8:10::1', '2001:db8:10::2', 'xenbr0v10', 1500, 4, [
        'xenbr0v10:dom0:-:echo.request,echo.reply,df.request,df.reply', 'eth0.10:vlan-device:-:echo.request,echo.reply,df.request,df.reply',
        'eth0:dom0-veth:10:echo.request,echo.reply,df.request,df.reply', 'xenbr0-d0:bridge-port:10:echo.request,echo.reply,df.request,df.reply',
        'peth0:uplink:10:echo.request,echo.reply,df.request,df.reply']],
    ]);
    // VLAN 20: dom0 has no IPv6 there, which is no failure and no note.
    expect(skipped).toEqual([]);
  });

  it('a link-local gateway is probed from dom0\'s link-local address; a vif without an IPv6 xenstore ip need only get the flood', () => {
    const { paths } = derivePaths6(lab('classic'), state6('fe80::1'), [{ ...VIF, ip6: undefined }], ['untagged'], 0);
    expect(paths.map((p) => [p.target, p.source, p.hops.at(-1)?.checks])).toEqual([['fe80::1', 'fe80::a800:ff:fe00:1', [{ probe: 'mcast', dir: 'request' }]]]);
  });

  it('names a network where dom0 has a global IPv6 address but nothing to probe; a tentative address is not a source', () => {
    const s = state6();
    expect(derivePaths6(lab('classic'), { ...s, routes: s.routes.filter((r) => r.family === 4) }, [], [], 0))
      .toEqual({ paths: [], skipped: ['untagged IPv6', 'vlan 10 IPv6'].map((id) => ({ id, reason: 'no IPv6 gateway or probe address (an IPv6 route via a gateway on it, or vlans[].probe)' })) });
    const l = link('eth0', 'veth', { addrs: [{ ...a6('2001:db8::10/64'), flags: ['tentative'] }] });
    expect(source6(l, '2001:db8::1')).toBeUndefined();
    expect(source6(link('eth0', 'veth', { addrs: [a6('2001:db8:1::10/64')] }), '2001:db8::1')).toBeUndefined();
  });
});

describe('probe ports on IPv6', () => {
  it('ping dom0\'s IPv6 target from a link-local address made from their MAC (not the kernel\'s EUI-64 one), through an on-link route', () => {
    expect(probeLinkLocal('02:0a:bb:00:dd:0e')).toBe('fe80::20a:bb00:dd0e');
    const t = lab('classic');
    const s = state6();
    const six = new Map([[null, '2001:db8::1'], [10, 'fe80::1']] as [number | null, string][]);
    const plan = guestPlan({
      t, s, sel: [], firstIndex: 5, extra: new Map([['xenbr0', []]]), targetOf: (b, vid) => pickTarget(s, [], [], b, vid), target6Of: (_, vid) => six.get(vid),
      names: (n) => ({ ns: 'xbprobe-1', ports: [...Array(n).keys()].map((i) => `xbp${i}`), peers: [...Array(n).keys()].map((i) => `eth${i}`), macs: [...Array(n).keys()].map((i) => `02:00:00:00:00:0${i}`) }),
    });
    const v6 = plan.paths.filter((p) => p.family === 6);
    expect(v6.map((p) => [p.id, p.origin, p.source, p.target, p.dfSize, p.index, p.hops.map((h) => `${h.dev}:${h.role}:${h.tag ?? '-'}:${h.checks.length}`)])).toEqual([
      ['guest on xenbr0, untagged IPv6', 'eth0', 'fe80::200:0:0', '2001:db8::1', 1500, 6, ['xbp0:probe:-:4', 'peth0:uplink:-:4']],
      ['guest on xenbr0, vlan 10 IPv6', 'eth0.10', 'fe80::200:0:0', 'fe80::1', 1500, 8, ['xbp0:probe:10:4', 'peth0:uplink:10:4']],
      ['guest on xenbr0v10 (vlan 10, access) IPv6', 'eth1', 'fe80::200:0:1', 'fe80::1', 1500, 11, ['xbp1:probe:-:4', 'eth0.10:vlan-device:-:4', 'eth0:dom0-veth:10:4', 'xenbr0-d0:bridge-port:10:4', 'peth0:uplink:10:4']],
    ]);
    expect(plan.inside6).toEqual([
      'addr add fe80::200:0:0/64 dev eth0 nodad', 'route add 2001:db8::1/128 dev eth0',
      'addr add fe80::200:0:0/64 dev eth0.10 nodad', 'addr add fe80::200:0:1/64 dev eth1 nodad',
    ]);
  });
});

const path = (): PathSpec => derivePaths6(lab('classic'), state6(), [VIF], ['untagged'], 0).paths[0]!;

describe('the IPv6 probes', () => {
  it('ping -6: the echo, the full-size echo of exactly the MTU with -M do, and the all-nodes echo from dom0\'s address', () => {
    const p = path();
    const hex = (k: 'echo' | 'df' | 'mcast') => echoPattern(NONCE, p, k).toString('hex');
    expect(probesFor(p, NONCE, 1).map((x) => [x.probe, x.cmd, ...x.args].join(' '))).toEqual([
      `echo ping -6 -n -c 1 -W 1 -I eth0 -p ${hex('echo')} 2001:db8::1`,
      `df ping -6 -n -c 1 -W 1 -I eth0 -M do -s 1452 -p ${hex('df')} 2001:db8::1`,
      `mcast ping -6 -n -c 1 -W 1 -I 2001:db8::10 -p ${hex('mcast')} ff02::1%eth0`,
    ]);
    const ll = derivePaths6(lab('classic'), state6('fe80::1'), [], ['untagged'], 0).paths[0]!;
    expect(probesFor(ll, NONCE, 2).map((x) => x.args.at(-1))).toEqual(['fe80::1%eth0', 'fe80::1%eth0']);
  });
});

/** The frame a hop captures for check c of an IPv6 path. */
const frame6 = (p: PathSpec, c: Check, from = '2001:db8::51'): Frame => {
  const request = c.dir === 'request';
  if (c.probe === 'nd') {
    const payload = Buffer.concat([Buffer.from(p.target.replace('::', ':0:0:0:0:0:').split(':').map((g) => g.padStart(4, '0')).join(''), 'hex')]);
    return { dst: request ? '33:33:ff:00:00:01' : DOM0_MAC, src: request ? DOM0_MAC : '5a:00:00:00:00:99', vids: [], ethertype: 0x86dd, length: 86, body: Buffer.alloc(0),
      ipv6: { src: request ? p.source! : p.target, dst: request ? 'ff02::1:ff00:1' : p.source!, next: 58, payloadLength: 32, icmp: { type: request ? 135 : 136, code: 0, id: 0, seq: 0, payload } } };
  }
  const kind = c.probe as 'echo' | 'df' | 'mcast';
  const [src, dst] = kind === 'mcast' ? (request ? [p.source!, 'ff02::1'] : [from, p.source!]) : request ? [p.source!, p.target] : [p.target, p.source!];
  return { dst: DOM0_MAC, src: DOM0_MAC, vids: [], ethertype: 0x86dd, length: 118, body: Buffer.alloc(0),
    ipv6: { src, dst, next: 58, payloadLength: 64, icmp: { type: request ? 128 : 129, code: 0, id: 1, seq: 1, payload: Buffer.concat([Buffer.alloc(8), echoPattern(NONCE, p, kind)]) } } };
};

const ALL: Check[] = ['echo', 'df', 'nd', 'mcast'].flatMap((probe) => (['request', 'reply'] as const).map((dir) => ({ probe, dir }) as Check));

/** Every hop sees every probe, unless `drop` says otherwise. */
const captured6 = (p: PathSpec, drop: (dev: string, c: Check) => boolean): Captured =>
  new Map(p.hops.map((h) => [h.dev, ALL.filter((c) => !drop(h.dev, c) && (h.role !== 'vif' || c.probe === 'mcast')).map((c) => frame6(p, c))]));

const run = (p: PathSpec, drop: (dev: string, c: Check) => boolean = () => false) => findFailures(p, hopResults(p, captured6(p, drop), NONCE));

describe('IPv6 observations', () => {
  it('matches probes by family, kind, addresses and pattern, never another path\'s or IPv4\'s', () => {
    const p = path();
    expect(ALL.map((c) => isProbe(frame6(p, c), p, c.probe, c.dir, NONCE))).toEqual(ALL.map(() => true));
    expect(isProbe(frame6(p, { probe: 'echo', dir: 'request' }), { ...p, index: 9 }, 'echo', 'request', NONCE)).toBe(false);
    expect(isProbe(frame6(p, { probe: 'echo', dir: 'request' }), { ...p, family: undefined }, 'echo', 'request', NONCE)).toBe(false);
    expect(isProbe(frame6(p, { probe: 'nd', dir: 'request' }), { ...p, target: '2001:db8::2' }, 'nd', 'request', NONCE)).toBe(false);
    // A probe port's echo is known by its MAC and the pattern, whatever source its namespace chose.
    const guest = { ...p, guest: { port: 'xbp0', ns: 'xbprobe-1' }, source: 'fe80::1' };
    expect(['request', 'reply'].map((dir) => isProbe(frame6(p, { probe: 'echo', dir } as Check), guest, 'echo', dir as 'request', NONCE))).toEqual([true, true]);
    expect(isProbe(frame6(p, { probe: 'echo', dir: 'request' }), { ...guest, originMac: '02:00:00:00:00:09' }, 'echo', 'request', NONCE)).toBe(false);
  });

  it('finds the first gap: none; the full-size echo at one hop; a solicitation unanswered before the echo could leave', () => {
    const p = path();
    expect(run(p)).toEqual([]);
    expect(run(p, (dev, c) => c.probe === 'df' && dev !== 'eth0')).toEqual([{ hop: 'xenbr0-d0', probe: 'df', dir: 'request', why: 'missing', after: 'eth0', seenTags: [] }]);
    expect(run(p, (dev, c) => c.probe === 'echo' || (c.probe === 'nd' && c.dir === 'reply' && dev !== 'peth0'))[0])
      .toEqual({ hop: 'xenbr0-d0', probe: 'nd', dir: 'reply', why: 'missing', after: 'peth0', seenTags: [] });
  });

  it('a guest\'s answer: missing at its vif, or seen there and not at dom0 (its guard); the guard\'s drops name it either way', () => {
    const p = path();
    const missing = run(p, (dev, c) => dev === 'vif3.0' && c.probe === 'mcast' && c.dir === 'reply');
    expect(missing).toEqual([{ hop: 'vif3.0', probe: 'mcast', dir: 'reply', why: 'missing', seenTags: [] }]);
    // The switch answered at eth0 too, but not from the guest's address.
    const hops = hopResults(p, captured6(p, () => false), NONCE);
    const eth0 = captured6(p, () => false).get('eth0') as Frame[];
    const cap = captured6(p, () => false).set('eth0', eth0.map((f) => (f.ipv6?.icmp?.type === 129 && f.ipv6.dst === p.source && f.ipv6.src === '2001:db8::51' ? frame6(p, { probe: 'mcast', dir: 'reply' }, '2001:db8::1') : f)));
    const lost = findFailures(p, hopResults(p, cap, NONCE));
    expect(lost).toEqual([{ hop: 'eth0', probe: 'mcast', dir: 'reply', why: 'missing', after: 'vif3.0', seenTags: [] }]);
    const guardDrops = { 'vif3.0': { in: { 'IPv6 from an address not in xenstore ip': 2 }, out: {} } };
    for (const f of [missing, lost]) {
      const d = diagnose({ path: p, hops, probes: [], state: state6(), vifs: [VIF], guardDrops }, f);
      expect(d.map((x) => [x.rule, x.hop, x.message])).toEqual([['dropped-by-guard', 'vif3.0',
        "vif3.0's guard dropped 2 frame(s) while the probes ran (2 IPv6 from an address not in xenstore ip): the all-nodes ICMPv6 echo reply was stopped by guest isolation, not lost"]]);
    }
  });

  it('the guard\'s drops that cannot be the answer (the guest\'s own router advertisements, ARP, IPv4) are not blamed', () => {
    const p = path();
    const missing = run(p, (dev, c) => dev === 'vif3.0' && c.probe === 'mcast' && c.dir === 'reply');
    const hops = hopResults(p, captured6(p, (dev, c) => dev === 'vif3.0' && c.probe === 'mcast' && c.dir === 'reply'), NONCE);
    const rule = (drops: Record<string, number>) => diagnose({ path: p, hops, probes: [], state: state6(), vifs: [VIF], guardDrops: { 'vif3.0': { in: drops, out: {} } } }, missing)
      .map((d) => [d.rule, d.message.replace(/:.*/, '')]);
    expect(rule({ 'IPv6 router advertisement or redirect': 3, 'IPv6 from an address not in xenstore ip': 1, 'ARP from another MAC': 2 }))
      .toEqual([['dropped-by-guard', "vif3.0's guard dropped 1 frame(s) while the probes ran (1 IPv6 from an address not in xenstore ip)"]]);
    expect(rule({ 'IPv6 router advertisement or redirect': 3, 'IPv4 from an address not in xenstore ip': 4 })).toEqual([['vanished', 'the all-nodes ICMPv6 echo reply never reached vif3.0 (guest port of xenbr0)']]);
  });

  it('diagnoses the MTU from ping -6\'s own words when the full-size echo cannot even be sent', () => {
    const p = path();
    const f = run(p, (_, c) => c.probe === 'df');
    const probes = [{ probe: 'df' as const, argv: [], exitCode: 1, message: 'ping: local error: message too long, mtu: 1400' }];
    const s = state6();
    s.links.find((l) => l.name === 'eth0')!.mtu = 1400;
    const [d] = diagnose({ path: p, hops: hopResults(p, captured6(p, (_, c) => c.probe === 'df'), NONCE), probes, state: s, vifs: [VIF] }, f);
    expect([d?.rule, d?.hop, d?.message]).toEqual(['mtu', 'eth0', "eth0 (dom0's interface) has MTU 1400, smaller than the path's 1500: the 1500-byte unfragmented ICMPv6 echo request is dropped at eth0 while the small echo passes"]);
  });
});
