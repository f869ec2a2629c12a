/**
 * Guest isolation on this kernel (no 802.1Q here, so tags are only ever crafted): a hostile guest
 * sends tagged, stacked, spoofed frames from a raw socket and captures on the switch, dom0 and
 * another guest show none of them; its own legitimate frames still arrive, and the switch's tagged
 * frames never reach an untagged guest.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { sendAndCapture, sendFrames, type FrameSpec } from '../helpers/frames.js';
import { cli, sh } from '../helpers/sh.js';
import { guestMac, makeXenBed, type XenBed } from '../helpers/vif.js';
import { TAKEOVER_ONLY } from '../helpers/topologies.js';
import { eui64LinkLocal } from '../../src/plan/guard.js';

const TOPO = TAKEOVER_ONLY;

let sb: Sandbox;
let xen: XenBed;
let cfg: string;
let evil: string;
let victim: string;
let dom0Mac: string;
const EVIL = guestMac(1, 0);
const VICTIM = guestMac(2, 0);
// The link-local address the kernel gives each guest's eth0 (eui64, from its MAC).
const EVIL_LL = eui64LinkLocal(EVIL);

beforeAll(async () => {
  ({ sb, cfg } = await sandboxWithTopology(TOPO));
  expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
  xen = makeXenBed(sb, cfg);
  evil = await xen.makeVif(1, 0, '192.0.2.51/24');
  victim = await xen.makeVif(2, 0, '192.0.2.52/24');
  xen.setVif(1, 0, { bridge: 'xenbr0', ip: '192.0.2.51' });
  xen.setVif(2, 0, { bridge: 'xenbr0', ip: '192.0.2.52' });
  for (const d of [1, 2]) expect((await xen.hook('online', d, 0)).stderr).toContain('untagged only');
  dom0Mac = JSON.parse(await sb.ip('-j link show dev eth0'))[0].address;
}, 120_000);
afterAll(async () => {
  await xen.cleanup();
  await sb.cleanup();
});

const watch = (): [string, string, string][] => [['switch', sb.sw, 'sw0'], ['dom0', sb.dom0, 'eth0'], ['victim', victim, 'eth0']];
const own = { src: EVIL, kind: 'ipv4' as const, sip: '192.0.2.51' };

describe('a hostile guest on bridge=xenbr0 (classic: untagged only, ip=192.0.2.51)', () => {
  it('gets no crafted frame anywhere, while its own plain frames arrive everywhere', async () => {
    const hostile: FrameSpec[] = [
      { id: 'tag20', ...own, tags: [[0x8100, 20]] },
      { id: 'tag10', ...own, tags: [[0x8100, 10]] },
      { id: 'vid0', ...own, tags: [[0x8100, 0]] },
      { id: 'vid4095', ...own, tags: [[0x8100, 4095]] },
      { id: 'qinq88a8', ...own, tags: [[0x88a8, 100], [0x8100, 20]] },
      { id: 'qinq8100', ...own, tags: [[0x8100, 10], [0x8100, 20]] },
      { id: 'tag9100', ...own, tags: [[0x9100, 20]] },
      { id: 'macdom0', ...own, src: dom0Mac },
      { id: 'macvictim', ...own, src: VICTIM },
      { id: 'ipdom0', ...own, sip: '192.0.2.10' },
      { id: 'garpdom0', src: EVIL, kind: 'arp', sip: '192.0.2.10', op: 2 },
      { id: 'arpothermac', src: EVIL, kind: 'arp', sip: '192.0.2.51', sha: VICTIM },
      { id: 'ra', src: EVIL, kind: 'ra' },
      { id: 'ip6global', src: EVIL, kind: 'ipv6', sip: '2001:db8::51' },
      { id: 'ipx', src: EVIL, type: 0x8137 },
      // Its own source address, but a server's or a querier's part: other guests' leases and multicast would follow.
      { id: 'dhcpoffer', ...own, sport: 67, dport: 68 },
      { id: 'dhcp6adv', src: EVIL, kind: 'ipv6', sip: EVIL_LL, dip: 'ff02::1:2', sport: 547, dport: 546 },
      { id: 'igmpquery', src: EVIL, kind: 'igmpq', sip: '192.0.2.51' },
      { id: 'dhcpvictim', src: EVIL, kind: 'dhcp', chaddr: VICTIM },
      // Neighbor advertisements that would draw others' IPv6 traffic to it.
      { id: 'narouter', src: EVIL, kind: 'na', sip: EVIL_LL, target: '2001:db8::1' },
      { id: 'naunspec', src: EVIL, kind: 'na', sip: '::', target: '2001:db8::52' },
      // The router's link-local address (an RA's source, the usual IPv6 gateway) and another guest's.
      { id: 'nallrouter', src: EVIL, kind: 'na', sip: EVIL_LL, target: 'fe80::1' },
      { id: 'nallvictim', src: EVIL, kind: 'na', sip: EVIL_LL, target: eui64LinkLocal(VICTIM) },
      { id: 'llspoof', src: EVIL, kind: 'ipv6', sip: 'fe80::1' },
      { id: 'llspoofna', src: EVIL, kind: 'na', sip: 'fe80::1', target: 'fe80::1' },
      // Probes for another's address: to a host configuring it, a conflict (it gives the address up).
      { id: 'probevictim', src: EVIL, kind: 'arp', sip: '0.0.0.0', dip: '192.0.2.52' },
      { id: 'dadvictim', src: EVIL, kind: 'ns', target: eui64LinkLocal(VICTIM) },
      { id: 'bpdu', src: EVIL, kind: 'bpdu' },
      { id: 'lldp', src: EVIL, dst: '01:80:c2:00:00:0e', type: 0x88cc },
      { id: 'ipv4stp', ...own, dst: '01:80:c2:00:00:00' },
      // A server answering from another port, and a release in another's name from its own address.
      { id: 'offer6767', ...own, sport: 6767, dport: 68 },
      { id: 'releasevictim', src: EVIL, kind: 'dhcp', sip: '192.0.2.51', dip: '192.0.2.1', chaddr: VICTIM },
      // Link-local ICMPv6 in fragments, where an RA could hide; an NA cut before its target.
      { id: 'llfragicmp', src: EVIL, kind: 'ipv6', sip: EVIL_LL, proto: 58, frag: 200 },
    ];
    const legit: FrameSpec[] = [
      { id: 'ok', ...own }, { id: 'okarp', src: EVIL, kind: 'arp', sip: '192.0.2.51' }, { id: 'okdhcp', src: EVIL, kind: 'dhcp' },
      { id: 'okrenew', src: EVIL, kind: 'dhcp', sip: '192.0.2.51', dip: '192.0.2.1' },
      { id: 'okna', src: EVIL, kind: 'na', sip: EVIL_LL, target: EVIL_LL },
      { id: 'okprobe', src: EVIL, kind: 'arp', sip: '0.0.0.0', dip: '192.0.2.51' },
      { id: 'okdad', src: EVIL, kind: 'ns', target: EVIL_LL },
      { id: 'okllfragudp', src: EVIL, kind: 'ipv6', sip: EVIL_LL, frag: 200 },
    ];
    const seen = await sendAndCapture([evil, 'eth0'], [...hostile, ...legit], watch());
    const ok = ['ok', 'okarp', 'okdad', 'okdhcp', 'okllfragudp', 'okna', 'okprobe', 'okrenew'];
    expect(seen).toEqual({ switch: ok, dom0: ok, victim: ok });
  });

  it('cannot take dom0\'s or another guest\'s MAC in the forwarding table', async () => {
    await sendAndCapture([evil, 'eth0'], [{ id: 'steal', ...own, src: dom0Mac, count: 5 }, { id: 'steal2', ...own, src: VICTIM, count: 5 }, { id: 'own', ...own }], [], 0);
    const fdb = await sb.ip('-j -d link show master xenbr0').then(() => sh(`bridge -n ${sb.dom0} -j fdb show br xenbr0`));
    const onEvil = (JSON.parse(fdb) as { mac: string; ifname: string }[]).filter((e) => e.ifname === 'vif1.0').map((e) => e.mac);
    // The control: its own frame, sent with the others, is learned there.
    expect(onEvil).toContain(EVIL);
    expect(onEvil).not.toContain(dom0Mac);
    expect(onEvil).not.toContain(VICTIM);
    await sh(`ip netns exec ${victim} ping -c1 -W2 192.0.2.10`);
  });

  it('show lists each guard and the frames it dropped, by reason', async () => {
    const r = await cli(['show', '--netns', sb.dom0, '--format', 'json'], sb.env);
    const g = JSON.parse(r.stdout).guards.find((x: { port: string }) => x.port === 'vif1.0');
    expect(g).toMatchObject({ state: 'ok', vlans: 'untagged only', mac: EVIL, ips: ['192.0.2.51'] });
    expect(Object.keys(g.drops)).toEqual(expect.arrayContaining(['spoofed source MAC', 'tagged frame on an untagged port', 'stacked VLAN tags (QinQ)', 'IPv4 from an address not in xenstore ip']));
    // The guest's own tagged frames (tag20, tag10, vid0, vid4095, twice each, its MAC and address
    // inside) die in its own chain, not at a later port.
    expect(g.drops['tagged frame on an untagged port']).toBeGreaterThanOrEqual(8);
    expect((await cli(['show', '--netns', sb.dom0], sb.env)).stdout).toMatch(/vif guards\n  vif1\.0  untagged only, from 00:16:3e:00:01:00 192\.0\.2\.51  dropped: /);
  });

  it('still reaches the switch, dom0 and the other guest', async () => {
    for (const to of ['192.0.2.1', '192.0.2.10', '192.0.2.52']) await sh(`ip netns exec ${evil} ping -c1 -W2 ${to}`);
    // Over IPv6 too, from the link-local address its kernel made (NDP both ways through both guards),
    // once both have ended DAD (a tentative address neither sends nor answers).
    for (const ns of [evil, victim]) await sh(`ip netns exec ${ns} sh -c 'i=0; while [ -n "$(ip -6 addr show dev eth0 tentative)" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done'`);
    await sh(`ip netns exec ${evil} ping -6 -c1 -W2 ${eui64LinkLocal(VICTIM)}%eth0`);
  });

  it('receives none of the switch\'s tagged frames, and its untagged ones', async () => {
    const sw = JSON.parse(await sh(`ip -n ${sb.sw} -j link show dev sw0`))[0].address as string;
    const frames: FrameSpec[] = [
      { id: 'sw10', src: sw, kind: 'ipv4', sip: '192.0.2.1', tags: [[0x8100, 10]] },
      { id: 'sw999', src: sw, kind: 'ipv4', sip: '192.0.2.1', tags: [[0x8100, 999]] },
      { id: 'swqinq', src: sw, kind: 'ipv4', sip: '192.0.2.1', tags: [[0x88a8, 5], [0x8100, 10]] },
      { id: 'swplain', src: sw, kind: 'ipv4', sip: '192.0.2.1' },
    ];
    const seen = await sendAndCapture([sb.sw, 'sw0'], frames, [['evil', evil, 'eth0'], ['victim', victim, 'eth0']]);
    expect(seen).toEqual({ evil: ['swplain'], victim: ['swplain'] });
  });
});

describe('the guard\'s life: verify sees it, apply restores it, offline retires it', () => {
  const nft = (cmd: string): Promise<string> => sh(`ip netns exec ${sb.dom0} nft ${cmd}`);
  const retiredFile = (): string => join(xen.env.XENBRIDGE_RUN_DIR, `netns-${sb.dom0}`, 'guards/retired/vif2.0.json');
  const hostile: FrameSpec[] = [{ id: 'tag20', ...own, tags: [[0x8100, 20]] }, { id: 'macdom0', ...own, src: '02:00:00:00:00:99' }];

  it('a guard deleted behind the hook\'s back lets frames through; verify names the vif; apply puts it back', async () => {
    await nft('delete element bridge xenbridge vifs-in { "vif1.0" }');
    // The victim's own guard still keeps tags from it; the switch gets everything.
    expect(await sendAndCapture([evil, 'eth0'], hostile, [['victim', victim, 'eth0'], ['switch', sb.sw, 'sw0']])).toEqual({ victim: ['macdom0'], switch: ['macdom0', 'tag20'] });
    const v = await cli(['verify', '-c', cfg, '--netns', sb.dom0, '--json'], sb.env);
    expect(v.code).toBe(3);
    expect(JSON.parse(v.stdout).findings).toContainEqual(expect.objectContaining({ rule: 'vif-guard-incomplete', message: 'vif1.0 has only part of its guard (a chain or map element is gone)' }));
    await nft('delete table bridge xenbridge');
    expect(JSON.parse((await cli(['verify', '-c', cfg, '--netns', sb.dom0, '--json'], sb.env)).stdout).findings.map((f: { rule: string }) => f.rule)).toContain('vif-guard-missing');
    const a = await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env);
    expect([a.code, a.stderr]).toEqual([0, expect.stringContaining('xenbridge: re-created the guard of vif1.0 (it was missing)')]);
    expect(a.stderr).toContain('re-created the guard of vif2.0 (it was missing)');
    expect((await cli(['verify', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
    expect(await sendAndCapture([evil, 'eth0'], hostile, [['victim', victim, 'eth0'], ['switch', sb.sw, 'sw0']])).toEqual({ victim: [], switch: [] });
  });

  it('the table\'s hook chains flushed behind the hooks\' back: verify names every vif, apply puts them back', async () => {
    await nft('flush chain bridge xenbridge pre');
    expect(await sendAndCapture([evil, 'eth0'], hostile, [['switch', sb.sw, 'sw0']])).toEqual({ switch: ['macdom0', 'tag20'] });
    const v = JSON.parse((await cli(['verify', '-c', cfg, '--netns', sb.dom0, '--json'], sb.env)).stdout) as { findings: { rule: string; message: string }[] };
    expect(v.findings.filter((f) => f.rule === 'vif-guard-incomplete').map((f) => f.message.split(' ')[0]).sort()).toEqual(['vif1.0', 'vif2.0']);
    const a = await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env);
    expect([a.code, a.stderr]).toEqual([0, expect.stringContaining('re-created the guard of vif1.0 (it was incomplete)')]);
    expect(await sendAndCapture([evil, 'eth0'], hostile, [['switch', sb.sw, 'sw0']])).toEqual({ switch: [] });
  });

  it('offline leaves the guard for later: verify is clean, show names it retired; online writes it again', async () => {
    expect((await xen.hook('offline', 2, 0)).code).toBe(0);
    expect(await nft('list map bridge xenbridge vifs-in')).toContain('"vif2.0" : jump in-vif2.0');
    expect(existsSync(retiredFile())).toBe(true);
    expect((await cli(['verify', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
    const shown = JSON.parse((await cli(['show', '--netns', sb.dom0, '--format', 'json'], sb.env)).stdout).guards;
    expect(shown.find((x: { port: string }) => x.port === 'vif2.0')).toMatchObject({ state: 'retired', mac: VICTIM });
    // Rules left in a retired chain are never trusted: the next online writes them again.
    await nft('flush chain bridge xenbridge in-vif2.0');
    expect((await xen.hook('online', 2, 0)).code).toBe(0);
    expect(await nft('list chain bridge xenbridge in-vif2.0')).toContain('spoofed source MAC');
    expect(existsSync(retiredFile())).toBe(false);
    // vif1.0's guard stood: this online left the hook chains alone (one dispatch rule each, not two).
    expect((await nft('list table bridge xenbridge')).match(/vmap @vifs-(in|out)/g)).toEqual(['vmap @vifs-in', 'vmap @vifs-out']);
    await sh(`ip netns exec ${victim} ping -c1 -W2 192.0.2.51`);
  });

  it("a new guest on a retired guard's name gets its own guard: the old guest's MAC and address are refused", async () => {
    expect((await xen.hook('offline', 2, 0)).code).toBe(0);
    const NEW = '00:16:3e:00:42:00';
    await sh(`ip -n ${victim} link set eth0 address ${NEW}`);
    xen.setVif(2, 0, { bridge: 'xenbr0', ip: '192.0.2.62', mac: NEW });
    expect((await xen.hook('online', 2, 0)).code).toBe(0);
    const frames: FrameSpec[] = [
      { id: 'oldmac', src: VICTIM, kind: 'ipv4', sip: '192.0.2.62' },
      { id: 'oldip', src: NEW, kind: 'ipv4', sip: '192.0.2.52' },
      { id: 'new', src: NEW, kind: 'ipv4', sip: '192.0.2.62' },
    ];
    expect(await sendAndCapture([victim, 'eth0'], frames, [['switch', sb.sw, 'sw0']])).toEqual({ switch: ['new'] });
  });

  it('apply removes the guards offlines left', async () => {
    expect((await xen.hook('offline', 2, 0)).code).toBe(0);
    const a = await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env);
    expect([a.code, a.stderr]).toEqual([0, expect.stringContaining("removed the guard vif2.0's offline left")]);
    expect(await nft('list chains bridge')).not.toContain('in-vif2.0');
    expect(await nft('list map bridge xenbridge vifs-out')).not.toContain('vif2.0');
    expect(existsSync(retiredFile())).toBe(false);
    expect(await nft('list map bridge xenbridge vifs-in')).toContain('"vif1.0" : jump in-vif1.0');
  });

  it('with only retired guards left, an online after an nftables restart (flush ruleset) makes the hook chains again', async () => {
    expect((await xen.hook('offline', 1, 0)).code).toBe(0);
    await nft('flush ruleset');
    expect((await xen.hook('online', 2, 0)).code).toBe(0);
    expect((await nft('list table bridge xenbridge')).match(/vmap @vifs-(in|out)/g)).toEqual(['vmap @vifs-in', 'vmap @vifs-out']);
    const frames: FrameSpec[] = [{ id: 'tag20', src: '00:16:3e:00:42:00', kind: 'ipv4', sip: '192.0.2.62', tags: [[0x8100, 20]] }, { id: 'own', src: '00:16:3e:00:42:00', kind: 'ipv4', sip: '192.0.2.62' }];
    expect(await sendAndCapture([victim, 'eth0'], frames, [['switch', sb.sw, 'sw0']])).toEqual({ switch: ['own'] });
  });

  it('a vif attached outside the hook (no guard, no record) is an error for verify until the hook takes it in', async () => {
    const third = await xen.makeVif(3, 0, '192.0.2.53/24');
    await sb.ip('link set vif3.0 master xenbr0 up');
    const tagged: FrameSpec[] = [{ id: 'tag20', src: guestMac(3, 0), kind: 'ipv4', sip: '192.0.2.53', tags: [[0x8100, 20]] }];
    expect(await sendAndCapture([third, 'eth0'], tagged, [['switch', sb.sw, 'sw0']])).toEqual({ switch: ['tag20'] });
    const v = await cli(['verify', '-c', cfg, '--netns', sb.dom0, '--json'], sb.env);
    expect(v.code).toBe(3);
    expect((JSON.parse(v.stdout) as { findings: { rule: string; message: string }[] }).findings.filter((f) => f.rule.startsWith('vif-guard')).map((f) => [f.rule, f.message.split(':')[0]]))
      .toEqual([['vif-guard-unrecorded', 'vif3.0 is a port of xenbr0 with no guard and no record of one']]);
    xen.setVif(3, 0, { bridge: 'xenbr0', ip: '192.0.2.53' });
    expect((await xen.hook('online', 3, 0)).code).toBe(0);
    expect((await cli(['verify', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
    expect(await sendAndCapture([third, 'eth0'], tagged, [['switch', sb.sw, 'sw0']])).toEqual({ switch: [] });
  });
});

describe('a bridge with STP on', () => {
  it("a guest's BPDU claiming to be the root dies in its guard (its port forwards that group): the bridge stays its own root, the uplink and the port forwarding", async () => {
    // A guest of its own: the vifs above have been taken off and put back by the tests before.
    const rogue = await xen.makeVif(4, 0, '192.0.2.54/24');
    xen.setVif(4, 0, { bridge: 'xenbr0', ip: '192.0.2.54' });
    expect((await xen.hook('online', 4, 0)).code).toBe(0);
    await sb.ip('link set dev xenbr0 type bridge stp_state 1 forward_delay 200');
    try {
      const root = async () => JSON.parse(await sb.ip('-j -d link show dev xenbr0'))[0].linkinfo.info_data as { root_id: string; bridge_id: string };
      const port = async (dev: string) => JSON.parse(await sb.ip(`-j -d link show dev ${dev}`))[0].linkinfo.info_slave_data as { state: string; guard: boolean; root_block: boolean };
      const before = await root();
      expect(before.root_id).toBe(before.bridge_id);
      expect(await port('vif4.0')).toMatchObject({ guard: true, root_block: true });
      const seen = await sendAndCapture([rogue, 'eth0'], [{ id: 'root', src: guestMac(4, 0), kind: 'bpdu', count: 3 }], [['switch', sb.sw, 'sw0']]);
      expect(seen).toEqual({ switch: [] });
      expect((await root()).root_id).toBe(before.bridge_id);
      expect((await port('peth0')).state).not.toBe('blocking');
      expect((await port('vif4.0')).state).not.toBe('disabled');
      expect(await sh(`ip netns exec ${sb.dom0} nft list chain bridge xenbridge in-vif4.0`)).toMatch(/01:80:c2:00:00:00 counter packets [1-9]\d* bytes/);
      // Without the mask (a port an older xenbridge attached), STP takes the BPDU past every hook: BPDU guard shuts the port.
      await sb.ip('link set dev vif4.0 type bridge_slave group_fwd_mask 0');
      await sendFrames(rogue, 'eth0', [{ id: 'root', src: guestMac(4, 0), kind: 'bpdu', count: 3 }]);
      expect((await root()).root_id).toBe(before.bridge_id);
      expect((await port('vif4.0')).state).toBe('disabled');
    } finally {
      await sb.ip('link set dev xenbr0 type bridge stp_state 0');
    }
  });
});

describe('a guest port attached without BPDU guard (an older xenbridge)', () => {
  it('gets BPDU guard and root block at its next online', async () => {
    // vif4.0: attached by the test above (vif1.0 was taken off by the ones before).
    await sb.ip('link set dev vif4.0 type bridge_slave guard off root_block off');
    expect((await xen.hook('online', 4, 0)).code).toBe(0);
    expect(JSON.parse(await sb.ip('-j -d link show dev vif4.0'))[0].linkinfo.info_slave_data).toMatchObject({ guard: true, root_block: true });
  });
});

describe('a guest whose ip= holds an IPv6 prefix', () => {
  it('may advertise any address of the prefix, and no other; an advertisement cut before its target is dropped', async () => {
    const guest = await xen.makeVif(5, 0, '192.0.2.55/24');
    xen.setVif(5, 0, { bridge: 'xenbr0', ip: '192.0.2.55 2001:db8:5::/64' });
    expect((await xen.hook('online', 5, 0)).code).toBe(0);
    const mac = guestMac(5, 0);
    const frames: FrameSpec[] = [
      { id: 'inprefix', src: mac, kind: 'na', sip: eui64LinkLocal(mac), target: '2001:db8:5::5' },
      { id: 'outside', src: mac, kind: 'na', sip: eui64LinkLocal(mac), target: '2001:db8:6::5' },
      { id: 'router', src: mac, kind: 'na', sip: eui64LinkLocal(mac), target: '2001:db8::1' },
    ];
    const seen = await sendAndCapture([guest, 'eth0'], frames, [['switch', sb.sw, 'sw0']]);
    expect(seen).toEqual({ switch: ['inprefix'] });
    await sendFrames(guest, 'eth0', [{ id: 'cut', src: mac, kind: 'na', sip: '2001:db8:5::5', target: '2001:db8::52', frag: 8 }]);
    expect(await sh(`ip netns exec ${sb.dom0} nft list chain bridge xenbridge in-vif5.0`)).toMatch(/nd-neighbor-advert exthdr frag exists counter packets [1-9]\d* bytes/);
  });
});
