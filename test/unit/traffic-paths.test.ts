// Which hops each probe must cross, derived from the file and the live state, and how the
// observations of those hops become "where frames vanish".
import { describe, expect, it } from 'vitest';
import { findFailures, hopResults } from '../../src/verify/traffic/observe.js';
import { derivePaths } from '../../src/verify/traffic/paths.js';
import { flagsOf, heardOf, type Heard, type ListenHop } from '../../src/verify/traffic/listen.js';
import { BROADCAST, type Frame } from '../../src/verify/traffic/frame.js';
import { expectFromLive, expectFromRequest } from '../../src/verify/traffic/vifs.js';
import { captures, lab, labState, naiveState, NONCE, probeFrame } from '../helpers/traffic-model.js';

const chain = (mode: 'classic' | 'filtering', id: string, vifs = [] as ReturnType<typeof expectFromRequest>[]) => {
  const { paths } = derivePaths(lab(mode), labState(mode), vifs);
  const p = paths.find((x) => x.id === id);
  return p ? [p.primary, p.origin, p.source, p.dfSize, p.hops.map((h) => `${h.dev}:${h.role}:${h.tag ?? '-'}`)] : undefined;
};

describe('derivePaths', () => {
  it('classic: per-VLAN bridge, its VLAN device, dom0 veth end, trunk port, uplink; tags below the VLAN device', () => {
    expect(chain('classic', 'untagged')).toEqual(['echo', 'eth0', '192.0.2.10', 1500, ['eth0:dom0:-', 'xenbr0-d0:bridge-port:-', 'peth0:uplink:-']]);
    expect(chain('classic', 'vlan 10')).toEqual(['echo', 'xenbr0v10', '10.10.0.2', 1500,
      ['xenbr0v10:dom0:-', 'eth0.10:vlan-device:-', 'eth0:dom0-veth:10', 'xenbr0-d0:bridge-port:10', 'peth0:uplink:10']]);
    // No dom0 address on VLAN 20: an ARP probe, and no DF echo.
    expect(chain('classic', 'vlan 20')).toEqual(['arp', 'xenbr0v20', undefined, undefined,
      ['xenbr0v20:dom0:-', 'eth0.20:vlan-device:-', 'eth0:dom0-veth:20', 'xenbr0-d0:bridge-port:20', 'peth0:uplink:20']]);
  });

  it('filtering: dom0 VLAN devices on the veth end, trunk ports carry the tag', () => {
    expect(chain('filtering', 'vlan 10')).toEqual(['echo', 'eth0.10', '10.10.0.2', 1500, ['eth0.10:dom0:-', 'eth0:dom0-veth:10', 'xenbr0-d0:bridge-port:10', 'peth0:uplink:10']]);
  });

  it('adds each vif on the networks its bridge= value gives it, with the tag frames have on it', () => {
    const t = lab('classic');
    const vifs = [expectFromRequest(t, 'vif1.0', 'xenbr0.10', 'given'), expectFromRequest(t, 'vif2.0', 'xenbr0:10:20', 'given'), expectFromRequest(t, 'vif3.0', 'xenbr0', 'given')];
    expect((chain('classic', 'vlan 10', vifs)?.[4] as string[]).slice(5)).toEqual(['vif1.0:vif:-', 'vif2.0:vif:10']);
    expect((chain('classic', 'untagged', vifs)?.[4] as string[]).slice(3)).toEqual(['vif3.0:vif:-']);
    const f = lab('filtering');
    expect(expectFromRequest(f, 'vif1.0', 'xenbr0.10', 'xenstore').carries).toEqual([{ vid: 10, tag: null }]);
    expect(expectFromRequest(f, 'vif2.0', 'xenbr0:10', 'xenstore').carries).toEqual([{ vid: 10, tag: 10 }]);
    expect(expectFromRequest(f, 'vif9.0', 'xenbr7', 'xenstore').note).toMatch(/^bridge=xenbr7 is refused by the hook: bridge xenbr7 is not in the topology/);
    expect(expectFromLive(f, labState('filtering'), 'vif1.0')).toMatchObject({ source: 'live', bridge: 'xenbr0', carries: [{ vid: 10, tag: null }] });
  });

  it('probes the layout as it is: the naive VLAN device on the NIC port, the address on the bridge', () => {
    const { paths } = derivePaths(lab('classic'), naiveState(), [], [10, 'untagged']);
    expect(paths.map((p) => [p.id, p.origin, p.hops.map((h) => `${h.dev}:${h.tag ?? '-'}`)])).toEqual([
      ['untagged', 'xenbr0', ['xenbr0:-', 'peth0:-']],
      ['vlan 10', 'peth0.10', ['peth0.10:-', 'peth0:10']],
    ]);
  });

  it('skips networks it cannot probe, saying why', () => {
    const t = lab('classic');
    t.bridges[0]!.vlans[1]!.probe = undefined;
    const s = labState('classic');
    s.routes = [];
    expect(derivePaths(t, s, []).skipped).toEqual([
      { id: 'untagged', reason: 'no gateway to probe (set dom0.gateway)' },
      { id: 'vlan 20', reason: 'no probe address (set vlans[].probe for VLAN 20)' },
    ]);
  });
});

describe('findFailures', () => {
  const path = (id: string) => derivePaths(lab('classic'), labState('classic'), [expectFromRequest(lab('classic'), 'vif2.0', 'xenbr0:10:20', 'given')]).paths.find((p) => p.id === id)!;

  it('finds nothing when every hop saw its frames with the right tag', () => {
    const p = path('vlan 10');
    expect(findFailures(p, hopResults(p, captures(p), NONCE))).toEqual([]);
  });

  it('walks requests outwards and replies inwards, naming the last hop that had them', () => {
    const p = path('vlan 10');
    const lostReply = hopResults(p, captures(p, (dev, c) => (c.probe === 'echo' && c.dir === 'reply' && ['eth0', 'eth0.10', 'xenbr0v10'].includes(dev) ? 'none' : undefined)), NONCE);
    expect(findFailures(p, lostReply)).toEqual([{ hop: 'eth0', probe: 'echo', dir: 'reply', why: 'missing', after: 'xenbr0-d0', seenTags: [] }]);
    const wrongTag = hopResults(p, captures(p, (dev, c) => (dev === 'xenbr0-d0' && c.dir === 'request' ? 20 : undefined)), NONCE);
    expect(findFailures(p, wrongTag)[0]).toEqual({ hop: 'xenbr0-d0', probe: 'echo', dir: 'request', why: 'wrong-tag', after: 'eth0', seenTags: [20] });
  });

  it('checks the DF probe only after the small echo passed, and each vif on its own', () => {
    const p = path('vlan 10');
    const r = hopResults(p, captures(p, (dev, c) => ((c.probe === 'df' && dev === 'peth0') || dev === 'vif2.0' ? 'none' : undefined)), NONCE);
    expect(findFailures(p, r).map((f) => [f.hop, f.probe, f.dir, f.after])).toEqual([['peth0', 'df', 'request', 'xenbr0-d0'], ['vif2.0', 'arp', 'request', 'xenbr0-d0']]);
  });

  it('follows ping\'s own ARP exchange when the echo never left dom0', () => {
    const p = path('untagged');
    const cap = captures(p, (_dev, c) => (c.probe === 'echo' || c.probe === 'df' ? 'none' : undefined));
    for (const dev of ['eth0', 'xenbr0-d0']) cap.set(dev, [probeFrame(p, { probe: 'arp', dir: 'request' }, null)]);
    expect(findFailures(p, hopResults(p, cap, NONCE))[0]).toMatchObject({ hop: 'peth0', probe: 'arp', dir: 'request', after: 'xenbr0-d0' });
    // Without any ARP either, it is the echo that never left.
    const none = captures(p, () => 'none');
    expect(findFailures(p, hopResults(p, none, NONCE))[0]).toMatchObject({ hop: 'eth0', probe: 'echo', dir: 'request', after: undefined });
  });

  it('counts a hop without a capture as failing', () => {
    const p = path('untagged');
    const r = hopResults(p, captures(p, undefined, { peth0: 'peth0: That device is not up' }), NONCE);
    expect(findFailures(p, r)[0]).toMatchObject({ hop: 'peth0', why: 'no-capture', after: 'xenbr0-d0' });
  });
});

describe('listen flags', () => {
  const t = lab('classic');
  const { paths } = derivePaths(t, labState('classic'), [expectFromRequest(t, 'vif2.0', 'xenbr0:10:20', 'given')], [], true);
  const hop = (dev: string, frames: Record<string, number>): ListenHop => ({ dev, role: 'bridge-port', frames, broadcasts: {} });
  const bcast = (src: string, vid: number | null): Frame => ({ dst: BROADCAST, src, vids: vid === null ? [] : [vid], ethertype: 0x0806, length: 46, body: Buffer.from(src) });
  const heardAt = (byDev: Record<string, Frame[]>): Heard => {
    const h: Heard = new Map();
    for (const [dev, frames] of Object.entries(byDev)) heardOf(dev, frames, h);
    return h;
  };
  const healthy = [hop('peth0', { untagged: 4, 10: 3 }), hop('xenbr0-d0', { untagged: 4, 10: 3 }), hop('eth0', { untagged: 4, 10: 3 }), hop('eth0.10', { untagged: 3 }), hop('xenbr0v10', { untagged: 3 }), hop('vif2.0', { untagged: 1, 10: 1 })];
  // The switch's VLAN 10 broadcast: tagged on the trunk hops, untagged below dom0's VLAN device.
  const everywhere = { peth0: [bcast('sw', 10)], 'xenbr0-d0': [bcast('sw', 10)], eth0: [bcast('sw', 10)], 'eth0.10': [bcast('sw', null)], xenbr0v10: [bcast('sw', null)], 'vif2.0': [bcast('sw', 10)] };

  it('flags nothing when every VLAN on the uplink reaches its ports and every broadcast reaches every port', () => {
    expect(flagsOf(paths, healthy, heardAt(everywhere))).toEqual([]);
  });

  it('flags a VLAN no port expects, and a broadcast that missed a port of its VLAN though the port saw other VLAN 10 frames', () => {
    const hops = healthy.map((h) => (h.dev === 'peth0' ? hop('peth0', { untagged: 4, 10: 3, 30: 2 }) : h));
    // vif2.0 sent a VLAN 10 frame of its own but never got the switch's broadcast.
    const heard = heardAt({ ...everywhere, 'vif2.0': [bcast('guest', 10)] });
    expect(flagsOf(paths, hops, heard).map((f) => f.message)).toEqual([
      'VLAN 10: broadcast frames on peth0 (1) did not all reach vif2.0, which should get every one',
      'VLAN 30: 2 frame(s) on peth0, but no port expects VLAN 30 (not in the file)',
    ]);
    expect(flagsOf(paths, hops, heard, (vid) => vid === 10).map((f) => f.vid)).toEqual([30]);
  });

  it('flags a VLAN that reached none of its ports', () => {
    // Untagged frames on eth0.10 or xenbr0v10 are VLAN 10's; on eth0 and the trunk ports they are the untagged network's.
    const hops = healthy.map((h) => (h.dev === 'peth0' ? h : hop(h.dev, ['eth0.10', 'xenbr0v10'].includes(h.dev) ? {} : { untagged: h.frames.untagged ?? 0 })));
    const f = flagsOf(paths, hops, heardAt({}));
    expect(f.map((x) => [x.vid, x.message])).toEqual([[10, 'VLAN 10: 3 frame(s) on peth0 reached none of xenbr0v10, eth0.10, eth0, xenbr0-d0, vif2.0']]);
  });
});
