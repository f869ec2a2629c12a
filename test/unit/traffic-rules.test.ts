// The diagnosis rules, as pure functions over hop observations and the live state: each case
// names the rule that must explain the failure, the hop it blames and what it tells the admin.
import { describe, expect, it } from 'vitest';
import type { Topology } from '../../src/model/topology.js';
import type { HostState } from '../../src/state/types.js';
import { findFailures, hopResults } from '../../src/verify/traffic/observe.js';
import { derivePaths } from '../../src/verify/traffic/paths.js';
import { diagnose } from '../../src/verify/traffic/rules.js';
import type { Frame } from '../../src/verify/traffic/frame.js';
import type { Check, ProbeRun, Tag, VifExpectation } from '../../src/verify/traffic/types.js';
import { expectFromRequest } from '../../src/verify/traffic/vifs.js';
import { captures, lab, labState, naiveState, NONCE } from '../helpers/traffic-model.js';

interface Case {
  t: Topology;
  s: HostState;
  path: string;
  vifs?: [string, string][];
  edit?: (dev: string, c: Check) => Tag | 'none' | undefined;
  errors?: Record<string, string>;
  probes?: ProbeRun[];
  guardDrops?: Record<string, { in: Record<string, number>; out: Record<string, number> }>;
}

const analyse = (k: Case) => {
  const vifs: VifExpectation[] = (k.vifs ?? []).map(([v, b]) => expectFromRequest(k.t, v, b, 'xenstore'));
  const p = derivePaths(k.t, k.s, vifs).paths.find((x) => x.id === k.path)!;
  const hops = hopResults(p, captures(p, k.edit, k.errors), NONCE);
  const failures = findFailures(p, hops);
  return { failures, diagnoses: diagnose({ path: p, hops, probes: k.probes ?? [], state: k.s, vifs, guardDrops: k.guardDrops }, failures) };
};

/** Drop a check's frames at these hops. */
const drop = (devs: string[], probe?: string, dir?: string) => (dev: string, c: Check) =>
  devs.includes(dev) && (probe === undefined || c.probe === probe) && (dir === undefined || c.dir === dir) ? 'none' as const : undefined;

const classic = (edit?: Case['edit'], s = labState('classic')) => ({ t: lab('classic'), s, edit });
const filtering = (edit?: Case['edit'], s = labState('filtering')) => ({ t: lab('filtering'), s, edit });
const only = (k: Case) => {
  const r = analyse(k);
  expect(r.diagnoses).toHaveLength(1);
  return r.diagnoses[0]!;
};

describe('traffic diagnosis rules', () => {
  it('a healthy path needs no diagnosis', () => {
    for (const path of ['untagged', 'vlan 10', 'vlan 20']) expect(analyse({ ...classic(), path }).diagnoses).toEqual([]);
  });

  it('upstream-not-trunking: the probe leaves the uplink tagged and nothing comes back', () => {
    const d = only({ ...classic(drop(['peth0', 'xenbr0-d0', 'eth0', 'eth0.20', 'xenbr0v20'], 'arp', 'reply')), path: 'vlan 20' });
    expect([d.rule, d.hop]).toEqual(['upstream-not-trunking', 'peth0']);
    expect(d.message).toBe('the ARP request left peth0 vlan 20 but no reply came back: the upstream switch port does not carry VLAN 20, or nothing answers 10.20.0.1 on it');
    expect(d.fix).toMatch(/^allow VLAN 20 tagged on the switch port/);
  });

  it('port-down, not the switch, when the uplink has no carrier', () => {
    const s = labState('classic');
    s.links.find((l) => l.name === 'peth0')!.carrier = false;
    const d = only({ ...classic(drop(['peth0']), s), path: 'vlan 20' });
    expect([d.rule, d.hop, d.fix]).toEqual(['port-down', 'peth0', 'the link partner of peth0 is down: check the cable and the switch port']);
  });

  it('port-down names an admin-down port whose capture could not even start', () => {
    const s = labState('classic');
    s.links.find((l) => l.name === 'peth0')!.up = false;
    const d = only({ ...classic(undefined, s), path: 'untagged', errors: { peth0: 'peth0: That device is not up' } });
    expect([d.rule, d.hop, d.fix]).toEqual(['port-down', 'peth0', 'ip link set dev peth0 up']);
    expect(d.evidence[0]).toBe('ICMP echo request: seen at eth0 (untagged), xenbr0-d0 (untagged); not as expected at peth0 (no capture: peth0: That device is not up)');
  });

  it('vid-not-on-port: a filtering bridge port without the VID, on the way in or on the way out', () => {
    for (const dev of ['xenbr0-d0', 'peth0']) {
      const s = labState('filtering');
      s.vlans = s.vlans.filter((e) => !(e.dev === dev && e.vid === 10));
      const d = only({ ...filtering(drop(['peth0'], 'echo')), s, path: 'vlan 10' });
      expect([d.rule, d.hop]).toEqual(['vid-not-on-port', dev]);
      expect(d.message).toContain(`does not carry VLAN 10, so VLAN 10 frames are dropped by xenbr0 ${dev === 'peth0' ? 'leaving' : 'coming in'} through it`);
      expect(d.fix).toMatch(new RegExp(`^bridge vlan add dev ${dev} vid 10 \\(`));
    }
  });

  it('pvid-mismatch: a trunk port whose PVID puts untagged frames in another VLAN', () => {
    const s = labState('filtering');
    s.vlans = s.vlans.map((e) => (e.dev === 'xenbr0-d0' && e.vid === 1 ? { ...e, vid: 5 } : e));
    const d = only({ ...filtering(drop(['peth0'], 'echo')), s, path: 'untagged' });
    expect([d.rule, d.hop]).toEqual(['pvid-mismatch', 'xenbr0-d0']);
    expect(d.message).toContain('its PVID is 5: untagged frames from it join VLAN 5, not VLAN 1');
  });

  it('stp-not-forwarding: a port STP holds in blocking', () => {
    const s = labState('classic');
    s.links.find((l) => l.name === 'xenbr0-d0')!.portState = 'blocking';
    const d = only({ ...classic(drop(['peth0'], 'echo')), s, path: 'untagged' });
    expect([d.rule, d.hop]).toEqual(['stp-not-forwarding', 'xenbr0-d0']);
  });

  it('vlan-device-steals-vid: the naive peth0.10 keeps VLAN 10 away from the trunk guest, naming device and bridge', () => {
    const d = only({ t: lab('classic'), s: naiveState(), path: 'vlan 10', vifs: [['vif2.0', 'xenbr0:10:20']], edit: drop(['vif2.0']) });
    expect([d.rule, d.hop]).toEqual(['vlan-device-steals-vid', 'vif2.0']);
    expect(d.message).toBe('peth0.10 (VLAN 10) sits on peth0, a port of xenbr0: the kernel hands VLAN 10 frames to peth0.10 before xenbr0 sees them, so vif2.0 (guest port of xenbr0) never gets VLAN 10');
    expect(d.fix).toMatch(/^delete peth0\.10/);
  });

  it('dropped-by-guard: a frame the vif\'s guard dropped during the run is named as guest isolation, with its reason', () => {
    const k = { ...classic(drop(['vif1.0'])), path: 'vlan 10', vifs: [['vif1.0', 'xenbr0.10']] as [string, string][] };
    const d = only({ ...k, guardDrops: { 'vif1.0': { in: { 'untagged frame on a trunk-only port': 5 }, out: { 'tagged frame on an untagged port': 2, 'spoofed source MAC': 0 } } } });
    expect([d.rule, d.hop, d.message]).toEqual(['dropped-by-guard', 'vif1.0', "vif1.0's guard dropped 2 frame(s) while the probes ran (2 tagged frame on an untagged port): the ARP request was stopped by guest isolation, not lost"]);
    expect(only({ ...k, guardDrops: { 'vif1.0': { in: { 'untagged frame on a trunk-only port': 5 }, out: { 'spoofed source MAC': 0 } } } }).rule).not.toBe('dropped-by-guard');
  });

  it('vif-wrong-bridge: xenstore says xenbr0.10, the kernel has the vif on xenbr0v20', () => {
    const s = labState('classic');
    s.links.find((l) => l.name === 'vif1.0')!.master = 'xenbr0v20';
    const d = only({ ...classic(drop(['vif1.0']), s), path: 'vlan 10', vifs: [['vif1.0', 'xenbr0.10']] });
    expect([d.rule, d.hop]).toEqual(['vif-wrong-bridge', 'vif1.0']);
    expect(d.message).toBe('vif1.0 is a port of xenbr0v20 (VLAN 20), but its xenstore bridge=xenbr0.10 asks for xenbr0v10 (VLAN 10): the ARP request cannot reach it');
  });

  it('vif-wrong-bridge in filtering mode: the vif\'s VLAN entries differ from its xenstore bridge', () => {
    const s = labState('filtering');
    s.vlans = s.vlans.map((e) => (e.dev === 'vif1.0' ? { ...e, vid: 20 } : e));
    const d = only({ ...filtering(drop(['vif1.0'])), s, path: 'vlan 10', vifs: [['vif1.0', 'xenbr0.10']] });
    expect([d.rule, d.message]).toEqual(['vif-wrong-bridge', 'vif1.0 carries VLAN 20 untagged, but its xenstore bridge=xenbr0.10 asks for VLAN 10 untagged: the ARP request cannot reach it']);
  });

  it('mtu: the DF probe dies entering the hop with the small MTU; the small echo passes', () => {
    const s = labState('classic');
    s.links.find((l) => l.name === 'xenbr0-d0')!.mtu = 1400;
    const d = only({ ...classic(drop(['xenbr0-d0', 'peth0'], 'df'), s), path: 'vlan 10' });
    expect([d.rule, d.hop]).toEqual(['mtu', 'xenbr0-d0']);
    expect(d.message).toBe("xenbr0-d0 (port of xenbr0) has MTU 1400, smaller than the path's 1500: the 1500-byte don't-fragment echo request is dropped at xenbr0-d0 while the small echo passes");
    expect(d.fix).toMatch(/^ip link set dev xenbr0-d0 mtu 1500/);
  });

  it('mtu: beyond the uplink when every local MTU is big enough', () => {
    const d = only({ ...classic(drop(['peth0', 'xenbr0-d0', 'eth0', 'eth0.10', 'xenbr0v10'], 'df', 'reply')), path: 'vlan 10' });
    expect([d.rule, d.hop]).toEqual(['mtu', 'peth0']);
    expect(d.message).toContain('the upstream network does not carry 1500-byte packets on VLAN 10');
  });

  it('mtu: ping could not send it at all', () => {
    const s = labState('classic');
    s.links.find((l) => l.name === 'eth0.10')!.mtu = 1400;
    const probes: ProbeRun[] = [{ probe: 'df', argv: ['ping'], exitCode: 1, message: 'ping: local error: message too long, mtu=1400' }];
    const d = only({ ...classic((_dev, c) => (c.probe === 'df' ? 'none' : undefined), s), path: 'vlan 10', probes });
    expect([d.rule, d.hop]).toEqual(['mtu', 'eth0.10']);
  });

  it('reply-to-other-mac: the trunk bridge answered ARP for dom0\'s address and gets its replies', () => {
    const s = labState('classic');
    const k = { ...classic(drop(['xenbr0-d0', 'eth0'], 'echo', 'reply'), s), path: 'untagged' };
    const vifs: VifExpectation[] = [];
    const p = derivePaths(k.t, s, vifs).paths.find((x) => x.id === 'untagged')!;
    const cap = captures(p, k.edit);
    const peth0 = cap.get('peth0') as Frame[];
    cap.set('peth0', peth0.map((f) => (f.ipv4?.icmp?.type === 0 ? { ...f, dst: '02:00:00:00:00:b0' } : f)));
    const hops = hopResults(p, cap, NONCE);
    const [d, ...rest] = diagnose({ path: p, hops, probes: [], state: s, vifs }, findFailures(p, hops));
    expect([d?.rule, d?.hop, rest]).toEqual(['reply-to-other-mac', 'xenbr0-d0', []]);
    expect(d?.message).toBe("replies come back addressed to 02:00:00:00:00:b0, the MAC of xenbr0, not eth0's aa:00:00:00:00:01: xenbr0 answered ARP for 192.0.2.10 (Linux answers ARP for its addresses on every interface), so xenbr0 gets dom0's replies and eth0 does not");
    expect(d?.fix).toMatch(/^sysctl -w net\.ipv4\.conf\.xenbr0\.arp_ignore=1/);
  });

  it('probe-not-sent: the tool is missing', () => {
    const probes: ProbeRun[] = [{ probe: 'arp', argv: ['arping'], exitCode: 127, message: 'arping is not installed (not found in PATH)' }];
    const d = only({ ...classic(() => 'none'), path: 'vlan 20', probes });
    expect([d.rule, d.hop, d.fix]).toEqual(['probe-not-sent', 'xenbr0v20', 'install arping (Debian: apt-get install iputils-arping)']);
  });

  it('hop-missing: the file\'s VLAN device is not there', () => {
    const s = labState('filtering');
    s.links = s.links.filter((l) => l.name !== 'eth0.20');
    const d = only({ ...filtering(undefined, s), path: 'vlan 20', errors: { 'eth0.20': 'eth0.20: No such device exists' } });
    expect([d.rule, d.hop, d.message]).toEqual(['hop-missing', 'eth0.20', 'eth0.20 does not exist, so the ARP request cannot pass it']);
  });

  it('vanished: frames with the wrong tag and nothing in the state to blame', () => {
    const d = only({ ...classic((dev, c) => (dev === 'xenbr0-d0' && c.dir === 'request' ? null : undefined)), path: 'vlan 10' });
    expect([d.rule, d.message]).toEqual(['vanished', 'xenbr0-d0 (port of xenbr0) saw the ICMP echo request untagged instead of vlan 10']);
  });

  it('several vifs failing for one reason are told once per vif, each by the same rule', () => {
    const s = naiveState();
    s.links.push({ ...s.links.find((l) => l.name === 'vif2.0')!, name: 'vif3.0' });
    const r = analyse({ t: lab('classic'), s, path: 'vlan 10', vifs: [['vif2.0', 'xenbr0:10:20'], ['vif3.0', 'xenbr0:10']], edit: drop(['vif2.0', 'vif3.0']) });
    expect(r.diagnoses.map((d) => [d.rule, d.hop])).toEqual([['vlan-device-steals-vid', 'vif2.0'], ['vlan-device-steals-vid', 'vif3.0']]);
  });
});
