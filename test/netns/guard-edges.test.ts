/**
 * Edges of the guard: frames a guest crafts to slip past its rules (fragments, tags, bridge-local
 * groups), and legitimate frames of a trunk guest that must still pass. Tags are crafted: this
 * kernel has no 802.1Q, and a classic bridge forwards tagged frames as they are.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { sendAndCapture, type FrameSpec } from '../helpers/frames.js';
import { cli, sh } from '../helpers/sh.js';
import { guestMac, makeXenBed, type XenBed } from '../helpers/vif.js';

const TOPO = `version: 1
bridges:
  - name: xenbr0
    uplink: eth0
    vif-vlans: [10, 20]
`;

let sb: Sandbox;
let xen: XenBed;
let plain: string;
let trunk: string;
let swMac: string;
let cfg: string;
const PLAIN = guestMac(1, 0);
const TRUNK = guestMac(2, 0);
const VICTIM = guestMac(3, 0);

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
      { id: 'll', ...v10, src: TRUNK, kind: 'ipv6', sip: 'fe80::72' },
      { id: 'llfrag', ...v10, src: TRUNK, kind: 'ipv6', sip: 'fe80::72', frag: 200 },
      { id: 'nall', ...v10, src: TRUNK, kind: 'na', sip: 'fe80::72', target: 'fe80::72' },
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
      { id: 'rafrag', ...v10, src: TRUNK, kind: 'ipv6', sip: 'fe80::72', proto: 58, frag: 8 },
      { id: 'narouter', ...v10, src: TRUNK, kind: 'na', sip: 'fe80::72', target: '2001:db8::1', frag: 8 },
      { id: 'spoof6', ...v10, src: TRUNK, kind: 'ipv6', sip: '2001:db8::9', frag: 200 },
    ];
    const seen = await sendAndCapture([trunk, 'eth0'], frames, watch());
    expect(seen).toEqual({ switch: [], dom0: [] });
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
