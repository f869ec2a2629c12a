// verify --traffic on layouts xenbridge did not build (802.1Q, bonding and vlan_filtering: the VM
// bed), with no apply and no xenstore: probe ports stand in for guests, and each broken layout
// fails at the right hop with the right rule while its healthy variant passes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/validate.js';
import type { Topology } from '../../src/model/topology.js';
import { renderTraffic } from '../../src/verify/traffic/report.js';
import { verifyTraffic, type TrafficReport } from '../../src/verify/traffic/traffic.js';
import { discoverLive } from '../../src/verify/traffic/wire.js';
import { LAYOUTS, NETWORK_BRIDGE_FILE, SECOND_CABLE } from '../helpers/hand-layouts.js';
import { makeLabBed, type LabBed } from '../helpers/lab-bed.js';
import { cli, sh } from '../helpers/sh.js';

let bed: LabBed;
beforeEach(async () => {
  bed = await makeLabBed();
  // The switch stays quiet (no IPv6 chatter on its VLANs), so the VLANs heard on the uplink are the file's or dom0's.
  await bed.sw.run('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], { inNetns: true });
});
afterEach(async () => bed.cleanup());

const build = async (lines: string[], bridgeLines: string[] = []): Promise<void> => {
  await bed.batch(bed.dom0, lines);
  if (bridgeLines.length === 0) return;
  const r = await bed.dom0.batch('bridge', bridgeLines);
  if (!r.ok) throw new Error(`${bridgeLines[r.done]}: ${r.stderr}`);
};

/** dom0 talks on its networks before the verify, as a host in use does: its neighbour table knows the switch. */
const talk = async (...to: string[]): Promise<void> => {
  for (const a of to) expect(await bed.ping(bed.dom0, a), `dom0 -> ${a}`).toBe(true);
};

const discovered = async (o: { file?: Topology; networks?: (number | 'untagged')[] } = {}): Promise<TrafficReport> => {
  const found = o.file ? { topology: o.file, wire: [] } : await discoverLive(bed.dom0, 1);
  // Emulation on a loaded machine: a probe process can take seconds just to start.
  return verifyTraffic(found.topology, bed.ctx, { guests: true, wire: found.wire, networks: o.networks, waitSeconds: 3 });
};

/** Per path: ok, or where frames vanish and the rules that explain it; then the layout errors. */
const outcome = (r: TrafficReport) => ({
  paths: Object.fromEntries(r.paths.map((p) => [p.spec.id, p.ok ? 'ok' : {
    at: `${p.vanished?.dir} at ${p.vanished?.hop.replace(/^xbp\d-\w+$/, 'PROBE')} after ${(p.vanished?.after ?? '-').replace(/^xbp\d-\w+$/, 'PROBE')}`,
    rules: p.diagnoses.map((d) => d.rule),
  }])),
  layout: r.findings.filter((f) => f.level === 'error').map((f) => f.rule),
});

const show = (r: TrafficReport): string => renderTraffic(r, (ok) => (ok ? 'ok' : 'FAIL')).join('\n');

/** Probe ports (xbp*) left in dom0 and private namespaces (xbprobe-<our pid>*) left on the host. */
const leftovers = async (): Promise<string[]> => [
  ...(await sh(`ip -n ${bed.names.dom0} -o link show`)).split('\n').flatMap((l) => /^\d+: (xbp[^:@]*)/.exec(l)?.[1] ?? []),
  ...(await sh('ip netns list')).split('\n').filter((l) => l.startsWith(`xbprobe-${process.pid}`)),
];

describe("the seed's layout: dom0's VLAN device on the bridge's NIC", () => {
  it('fails: the guest tagging VLAN 10 on xenbr0 loses the reply after peth0, peth0.10 takes it; dom0 itself passes', async () => {
    await build(LAYOUTS.naive);
    await talk('192.0.2.1', '10.10.0.1');
    const r = await discovered();
    expect(outcome(r), show(r)).toEqual({
      paths: {
        untagged: 'ok', 'vlan 10': 'ok', 'guest on xenbr0, untagged': 'ok',
        'guest on xenbr0, vlan 10': { at: 'reply at PROBE after peth0', rules: ['vlan-device-steals-vid'] },
      },
      layout: ['vlan-on-bridge-port'],
    });
    const d = r.paths.find((p) => p.spec.id === 'guest on xenbr0, vlan 10')?.diagnoses[0];
    expect(d?.message).toMatch(/^peth0\.10 \(VLAN 10\) sits on peth0, a port of xenbr0: the kernel hands VLAN 10 frames to peth0\.10 before xenbr0 sees them/);
    expect(d?.fix).toMatch(/dom0's side of the bridge.*filtering/);
    expect(await leftovers()).toEqual([]);
  });

  it('the CLI, no file: exit 3, peth0.10 named, the fix said, one pcap per hop kept', async () => {
    await build(LAYOUTS.naive);
    await talk('10.10.0.1');
    const dir = `${bed.runDirRoot}/pcaps-${bed.names.dom0}`;
    const r = await cli(['verify', '--traffic', '--discover', '--netns', bed.names.dom0, '--pcap-dir', dir], { ...process.env as Record<string, string> });
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toMatch(/diagnosis \[vlan-device-steals-vid\]: peth0\.10 \(VLAN 10\) sits on peth0, a port of xenbr0/);
    expect(r.stdout).toMatch(/FAIL layout \[vlan-on-bridge-port\]: peth0\.10 \(VLAN 10\) sits on peth0, a port of xenbr0[^\n]*\n(?:.*\n)*? +fix: move the VLAN device onto dom0's side of the bridge/);
    expect((await sh(`ls ${dir}`)).split('\n').filter((f) => /^(peth0|peth0\.10|xbp0-\w+)\.pcap$/.test(f))).toHaveLength(3);
  });

  it('passes when the VLAN device sits on dom0\'s side of the bridge', async () => {
    await build(LAYOUTS.naiveFixed);
    await talk('192.0.2.1', '10.10.0.1');
    const r = await discovered();
    expect(outcome(r), show(r)).toEqual({
      paths: { untagged: 'ok', 'vlan 10': 'ok', 'guest on xenbr0, untagged': 'ok', 'guest on xenbr0, vlan 10': 'ok' },
      layout: [],
    });
  });
});

describe('the same trap elsewhere', () => {
  it('on a bond: bond0.10 takes VLAN 10 from xenbr0', async () => {
    await build(LAYOUTS.bond);
    await talk('10.10.0.1');
    const r = await discovered({ networks: [10] });
    expect(outcome(r), show(r)).toEqual({
      paths: { 'vlan 10': 'ok', 'guest on xenbr0, vlan 10': { at: 'reply at PROBE after bond0', rules: ['vlan-device-steals-vid'] } },
      layout: ['vlan-on-bridge-port'],
    });
    expect(r.paths[1]?.diagnoses[0]?.message).toMatch(/^bond0\.10 \(VLAN 10\) sits on bond0, a port of xenbr0/);
  });

  it('on a second NIC: guests of xenbr1 lose VLAN 10 to peth1.10; xenbr0 is healthy', async () => {
    await bed.batch(bed.sw, SECOND_CABLE(bed.names.dom0));
    await build(LAYOUTS.secondNic);
    await talk('192.0.2.1', '10.11.0.1');
    const r = await discovered();
    expect(outcome(r), show(r)).toEqual({
      paths: {
        'xenbr0 untagged': 'ok', 'xenbr1 untagged': 'ok', 'xenbr1 vlan 10': 'ok',
        'guest on xenbr0, untagged': 'ok', 'guest on xenbr1, untagged': 'ok',
        'guest on xenbr1, vlan 10': { at: 'reply at PROBE after peth1', rules: ['vlan-device-steals-vid'] },
      },
      layout: ['vlan-on-bridge-port'],
    });
  });
});

describe('a Proxmox-style VLAN-aware bridge', () => {
  it('whose NIC port lacks VLAN 20: the guest\'s VLAN 20 frames die at eth0, and the layout says so before any probe', async () => {
    await build(LAYOUTS.proxmox('vif3.0'), LAYOUTS.proxmoxVlans('vif3.0'));
    await talk('192.0.2.1', '10.10.0.1');
    const r = await discovered();
    expect(outcome(r), show(r)).toEqual({
      paths: {
        untagged: 'ok', 'vlan 10': 'ok', 'guest on vmbr0, untagged': 'ok', 'guest on vmbr0, vlan 10': 'ok',
        'guest on vmbr0, vlan 20': { at: 'request at eth0 after PROBE', rules: ['vid-not-on-port'] },
      },
      layout: ['vid-not-on-uplink'],
    });
    expect(r.paths.find((p) => p.spec.id === 'guest on vmbr0, vlan 20')?.diagnoses[0]?.fix).toMatch(/^bridge vlan add dev eth0 vid 20/);
  });

  it('passes with VLAN 20 on the NIC port', async () => {
    await build(LAYOUTS.proxmox('vif3.0'), LAYOUTS.proxmoxVlans('vif3.0', false));
    await talk('192.0.2.1', '10.10.0.1');
    const r = await discovered();
    expect(outcome(r).layout, show(r)).toEqual([]);
    expect(r.paths.map((p) => [p.spec.id, p.ok]), show(r)).toEqual([
      ['untagged', true], ['vlan 10', true], ['guest on vmbr0, untagged', true], ['guest on vmbr0, vlan 10', true], ['guest on vmbr0, vlan 20', true],
    ]);
  });
});

describe('a network-bridge layout and its file', () => {
  it('the switch port does not trunk VLAN 20: the guest\'s probe leaves peth0 tagged 20 and no reply comes back', async () => {
    await bed.batch(bed.sw, ['link del dev sw0.20']);
    await build([...LAYOUTS.networkBridge, 'link add link eth0 name eth0.20 type vlan id 20', 'link set dev eth0.20 up']);
    const r = await discovered({ file: parseTopology(NETWORK_BRIDGE_FILE) });
    expect(outcome(r), show(r)).toEqual({
      paths: {
        untagged: 'ok', 'guest on xenbr0, untagged': 'ok',
        'vlan 20': { at: 'reply at peth0 after -', rules: ['upstream-not-trunking'] },
        'guest on xenbr0, vlan 20': { at: 'reply at peth0 after -', rules: ['upstream-not-trunking'] },
      },
      layout: [],
    });
  });

  it('passes when the switch trunks VLAN 20', async () => {
    await build([...LAYOUTS.networkBridge, 'link add link eth0 name eth0.20 type vlan id 20', 'link set dev eth0.20 up']);
    const r = await discovered({ file: parseTopology(NETWORK_BRIDGE_FILE) });
    expect(r.paths.map((p) => [p.spec.id, p.ok]), show(r)).toEqual([
      ['untagged', true], ['vlan 20', true], ['guest on xenbr0, untagged', true], ['guest on xenbr0, vlan 20', true],
    ]);
    expect(await leftovers()).toEqual([]);
  });
});
