/**
 * A trunk guest held to xenstore ip: its tagged frames of a VLAN it carries are held to the same
 * addresses as untagged ones (a spoofed source, a gratuitous ARP for dom0's address, an RA or a
 * neighbor advertisement for the router, sent on VLAN 10, poisoned that VLAN before), while its
 * own tagged traffic still reaches the switch. Tags are crafted: this kernel has no 802.1Q, and a
 * classic bridge forwards tagged frames as they are.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { sendAndCapture, type FrameSpec } from '../helpers/frames.js';
import { cli } from '../helpers/sh.js';
import { guestMac, makeXenBed, type XenBed } from '../helpers/vif.js';

const TOPO = `version: 1
bridges:
  - name: xenbr0
    uplink: eth0
    vif-vlans: [10, 20]
`;

let sb: Sandbox;
let xen: XenBed;
let guest: string;
const MAC = guestMac(1, 0);

beforeAll(async () => {
  let cfg: string;
  ({ sb, cfg } = await sandboxWithTopology(TOPO));
  expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
  xen = makeXenBed(sb, cfg);
  guest = await xen.makeVif(1, 0);
  xen.setVif(1, 0, { bridge: 'xenbr0:10:20', ip: '192.0.2.61 2001:db8::61' });
  expect((await xen.hook('online', 1, 0)).stderr).toContain('tagged 10 20, from 00:16:3e:00:01:00 192.0.2.61 2001:db8::61 only');
}, 120_000);
afterAll(async () => {
  await xen.cleanup();
  await sb.cleanup();
});

describe('a trunk guest (bridge=xenbr0:10:20) held to ip=192.0.2.61 2001:db8::61', () => {
  it('sends its own tagged traffic, and nothing on its VLANs that another address, a router or a server would', async () => {
    const v10 = { tags: [[0x8100, 10]] as [number, number][] };
    const own = { ...v10, src: MAC, kind: 'ipv4' as const, sip: '192.0.2.61' };
    const frames: FrameSpec[] = [
      { id: 'ok', ...own },
      { id: 'ok20', ...own, tags: [[0x8100, 20]] },
      { id: 'okarp', ...v10, src: MAC, kind: 'arp', sip: '192.0.2.61' },
      { id: 'ok6', ...v10, src: MAC, kind: 'ipv6', sip: '2001:db8::61' },
      { id: 'okna', ...v10, src: MAC, kind: 'na', sip: 'fe80::61', target: '2001:db8::61' },
      { id: 'spoof4', ...own, sip: '192.0.2.99' },
      { id: 'garpdom0', ...v10, src: MAC, kind: 'arp', sip: '192.0.2.10', op: 2 },
      { id: 'ra', ...v10, src: MAC, kind: 'ra' },
      { id: 'narouter', ...v10, src: MAC, kind: 'na', sip: 'fe80::61', target: '2001:db8::1' },
      { id: 'spoof6', ...v10, src: MAC, kind: 'ipv6', sip: '2001:db8::99' },
      { id: 'offer', ...own, sport: 67, dport: 68 },
      { id: 'igmpq', ...v10, src: MAC, kind: 'igmpq', sip: '192.0.2.61' },
      { id: 'ipx', ...v10, src: MAC, type: 0x8137 },
      { id: 'v30', ...own, tags: [[0x8100, 30]] },
      { id: 'untagged', ...own, tags: [] },
    ];
    const seen = await sendAndCapture([guest, 'eth0'], frames, [['switch', sb.sw, 'sw0'], ['dom0', sb.dom0, 'eth0']]);
    // dom0's end of the trunk gets VLAN 10 and 20 as the switch does (its VLAN devices sit there).
    const ok = ['ok', 'ok20', 'ok6', 'okarp', 'okna'];
    expect(seen).toEqual({ switch: ok, dom0: ok });
  });
});
