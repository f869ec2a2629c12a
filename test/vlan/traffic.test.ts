// verify --traffic on a real 802.1Q kernel (the VM bed): healthy layouts pass; each broken one is
// caught at the right hop and explained by the right rule. Driven in-process: a fork costs seconds
// under emulation.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyTopology } from '../../src/apply/apply.js';
import { createContext } from '../../src/context.js';
import { createRunner } from '../../src/exec/runner.js';
import { parseTopology } from '../../src/config/validate.js';
import { LAB_GUESTS, labGuestMac, labTopology } from '../../src/lab/example.js';
import { runLab } from '../../src/lab/run-lab.js';
import type { BridgeMode, Topology } from '../../src/model/topology.js';
import { readState } from '../../src/state/read.js';
import { lint } from '../../src/verify/lint.js';
import { listenTraffic } from '../../src/verify/traffic/listen.js';
import { renderTraffic } from '../../src/verify/traffic/report.js';
import { verifyTraffic, type TrafficOptions, type TrafficReport } from '../../src/verify/traffic/traffic.js';
import { attachVif } from '../../src/xen/vif-hook.js';
import { fakeXenstoreEnv, makeLabBed, type LabBed } from '../helpers/lab-bed.js';

let bed: LabBed;
beforeEach(async () => {
  bed = await makeLabBed();
});
afterEach(async () => bed.cleanup());

const GUESTS = LAB_GUESTS.map((g) => ({ vif: g.vif, bridge: g.bridge }));

/** The lab as `xenbridge lab` builds it: the example topology applied, three guests attached by the hook's code. */
const labUp = async (mode: BridgeMode, guests = GUESTS): Promise<Topology> => {
  const t = parseTopology(labTopology(mode));
  await applyTopology(t, bed.ctx);
  for (const g of guests) await attachVif(bed.ctx, t, g.vif, g.bridge, labGuestMac(g.vif));
  return t;
};

const traffic = (t: Topology, o: TrafficOptions = {}): Promise<TrafficReport> => verifyTraffic(t, bed.ctx, { vifs: GUESTS, ...o });

/** Per path: ok, and where frames vanish with the rules that explain it. */
const outcome = (r: TrafficReport) => Object.fromEntries(r.paths.map((p) => [p.spec.id, p.ok ? 'ok' : {
  at: `${p.vanished?.probe} ${p.vanished?.dir} at ${p.vanished?.hop} after ${p.vanished?.after ?? '-'}`,
  rules: p.diagnoses.map((d) => `${d.rule} ${d.hop}`),
}]));

const show = (r: TrafficReport): string => renderTraffic(r, (ok) => (ok ? 'ok' : 'FAIL')).join('\n');

describe.each(['classic', 'filtering'] as const)('a healthy %s layout', (mode) => {
  it('passes every path: each hop saw request and reply with the tag it should have, every vif got its broadcast; IPv6 too', async () => {
    const t = await labUp(mode);
    // What xenbridge built is a layout lint finds no error in.
    expect(lint(await readState(bed.dom0)).filter((f) => f.level === 'error')).toEqual([]);
    const r = await traffic(t);
    expect(outcome(r), show(r)).toEqual({ untagged: 'ok', 'vlan 10': 'ok', 'vlan 20': 'ok' });
    const hops = (id: string) => r.paths.find((p) => p.spec.id === id)?.hops.map((h) => `${h.hop.dev}:${h.hop.tag ?? '-'}`);
    const trunk = mode === 'classic' ? ['xenbr0v10:-', 'eth0.10:-'] : ['eth0.10:-'];
    expect(hops('vlan 10')).toEqual([...trunk, 'eth0:10', 'xenbr0-d0:10', 'peth0:10', 'vif1.0:-', 'vif2.0:10']);
    expect(r.paths.map((p) => p.spec.primary)).toEqual(['echo', 'echo', 'arp']);
    // The 10-byte tag rides out of band in the kernel; libpcap put it back into every capture on the trunk.
    const peth0 = r.paths.find((p) => p.spec.id === 'vlan 20')?.hops.find((h) => h.hop.dev === 'peth0');
    expect(peth0?.checks.map((c) => [c.probe, c.dir, c.seen.tags])).toEqual([['arp', 'request', [20]], ['arp', 'reply', [20]]]);
    // IPv6 on VLAN 10: the echo and the full-size echo tagged below the VLAN device, the all-nodes echo to both guests.
    const v10 = mode === 'classic' ? 'xenbr0v10' : 'eth0.10';
    await bed.batch(bed.sw, ['addr add 2001:db8:10::1/64 dev sw0.10 nodad']);
    await bed.batch(bed.dom0, [`addr add 2001:db8:10::2/64 dev ${v10} nodad`, `route add 2001:db8:99::/64 via 2001:db8:10::1 dev ${v10}`]);
    const six = await traffic(t, { networks: [10] });
    const p6 = six.paths.find((p) => p.spec.family === 6);
    expect([p6?.spec.id, p6?.ok, p6?.hops.map((h) => `${h.hop.dev}:${h.hop.tag ?? '-'}:${h.checks.map((c) => (c.ok ? c.probe : 'FAIL')).join(',')}`)], show(six)).toEqual(['vlan 10 IPv6', true, [
      ...trunk.map((x) => `${x}:echo,echo,df,df`), 'eth0:10:echo,echo,df,df', 'xenbr0-d0:10:echo,echo,df,df', 'peth0:10:echo,echo,df,df', 'vif1.0:-:mcast', 'vif2.0:10:mcast']]);
  });
});

describe('broken layouts: the first failing hop and the rule that explains it', () => {
  it('the seed\'s naive layout: peth0.10 on the bridge port takes VLAN 10 from the trunk guest', async () => {
    const t = parseTopology(labTopology('classic'));
    await bed.batch(bed.dom0, [
      'addr flush dev eth0', 'link set dev eth0 down', 'link set dev eth0 name peth0',
      'link add name xenbr0 type bridge stp_state 0 forward_delay 0', 'link set dev peth0 master xenbr0',
      'link set dev vif2.0 master xenbr0', 'link set dev peth0 up', 'link set dev vif2.0 up', 'link set dev xenbr0 up',
      'addr add 192.0.2.10/24 dev xenbr0', 'route add default via 192.0.2.1 dev xenbr0',
      'link add link peth0 name peth0.10 type vlan id 10', 'addr add 10.10.0.2/24 dev peth0.10', 'link set dev peth0.10 up',
    ]);
    const r = await traffic(t, { vifs: [{ vif: 'vif2.0', bridge: 'xenbr0:10' }], networks: [10] });
    expect(outcome(r), show(r)).toEqual({ 'vlan 10': { at: 'arp request at vif2.0 after peth0', rules: ['vlan-device-steals-vid vif2.0'] } });
    expect(r.paths[0]?.diagnoses[0]?.message).toMatch(/^peth0\.10 \(VLAN 10\) sits on peth0, a port of xenbr0: /);
    // Passively too: the switch's VLAN 10 broadcasts arrive on peth0 and never reach the trunk guest.
    const heard = await listenTraffic(t, bed.ctx, {
      seconds: 1, vifs: [{ vif: 'vif2.0', bridge: 'xenbr0:10' }], networks: [10],
      onListening: async () => void (await bed.sw.run('arping', ['-c', '1', '-w', '1', '-I', 'sw0.10', '10.10.0.99'], { inNetns: true })),
    });
    expect(heard.flags.map((f) => [f.vid, f.missedAt])).toEqual([[10, ['vif2.0']]]);
  });

  it('the switch does not trunk VLAN 20: the probe leaves peth0 tagged 20 and nothing comes back', async () => {
    const t = await labUp('classic');
    await bed.batch(bed.sw, ['link del dev sw0.20']);
    const r = await traffic(t);
    expect(outcome(r), show(r)).toEqual({
      untagged: 'ok', 'vlan 10': 'ok',
      'vlan 20': { at: 'arp reply at peth0 after -', rules: ['upstream-not-trunking peth0'] },
    });
    expect(r.paths[2]?.diagnoses[0]?.message).toBe('the ARP request left peth0 vlan 20 but no reply came back: the upstream switch port does not carry VLAN 20, or nothing answers 10.20.0.1 on it');
  });

  it('an MTU lowered on one hop: the full-size DF probe dies entering it, small pings pass', async () => {
    const t = await labUp('classic');
    await bed.batch(bed.dom0, ['link set dev xenbr0-d0 mtu 1400']);
    const r = await traffic(t, { networks: [10] });
    expect(outcome(r), show(r)).toEqual({ 'vlan 10': { at: 'df request at xenbr0-d0 after eth0', rules: ['mtu xenbr0-d0'] } });
    expect(r.paths[0]?.hops.every((h) => h.checks.filter((c) => c.probe === 'echo').every((c) => c.ok))).toBe(true);
  });

  it('filtering mode, VLAN 10 removed from the dom0 trunk port: frames enter it and never leave the bridge', async () => {
    const t = await labUp('filtering');
    const del = await bed.dom0.batch('bridge', ['vlan del dev xenbr0-d0 vid 10']);
    expect(del.ok).toBe(true);
    const r = await traffic(t);
    expect(outcome(r), show(r)).toEqual({
      untagged: 'ok', 'vlan 20': 'ok',
      'vlan 10': { at: 'arp request at peth0 after xenbr0-d0', rules: ['vid-not-on-port xenbr0-d0'] },
    });
    expect(r.paths[1]?.diagnoses[0]?.fix).toMatch(/^bridge vlan add dev xenbr0-d0 vid 10 /);
  });

  it('the uplink down: every path stops at peth0', async () => {
    const t = await labUp('classic');
    await bed.batch(bed.dom0, ['link set dev peth0 down']);
    const r = await traffic(t, { vifs: [] });
    expect(outcome(r), show(r)).toEqual({
      // dom0 had to ask for the switch's MAC first: its ARP request is what stops there.
      untagged: { at: 'arp request at peth0 after xenbr0-d0', rules: ['port-down peth0'] },
      'vlan 10': { at: 'arp request at peth0 after xenbr0-d0', rules: ['port-down peth0'] },
      'vlan 20': { at: 'arp request at peth0 after xenbr0-d0', rules: ['port-down peth0'] },
    });
  });

  it('a vif on the wrong VLAN: xenstore says xenbr0.10, the kernel has it in xenbr0v20', async () => {
    const store = join(bed.runDirRoot, `${bed.names.dom0}-xenstore`);
    mkdirSync(join(store, 'backend/vif/1/0'), { recursive: true });
    writeFileSync(join(store, 'backend/vif/1/0/bridge'), 'xenbr0.10');
    const t = await labUp('classic', [{ vif: 'vif1.0', bridge: 'xenbr0.20' }]);
    const r = await traffic(t, { vifs: [{ vif: 'vif1.0' }], networks: [10], xenstore: createRunner(undefined, { env: fakeXenstoreEnv(store) }) });
    expect(outcome(r), show(r)).toEqual({ 'vlan 10': { at: 'arp request at vif1.0 after xenbr0v10', rules: ['vif-wrong-bridge vif1.0'] } });
    expect(r.paths[0]?.diagnoses[0]?.message).toBe('vif1.0 is a port of xenbr0v20 (VLAN 20), but its xenstore bridge=xenbr0.10 asks for xenbr0v10 (VLAN 10): the ARP request cannot reach it');
  });
});

describe('--listen and the lab', () => {
  it('listen flags a VLAN on the uplink that no port expects, and nothing for the VLANs the file has', async () => {
    const t = await labUp('classic');
    await bed.batch(bed.sw, ['link add link sw0 name sw0.30 type vlan id 30', 'link set dev sw0.30 up']);
    const r = await listenTraffic(t, bed.ctx, {
      seconds: 1, vifs: GUESTS,
      onListening: async () => {
        await Promise.all(['sw0.10', 'sw0.30'].map((dev) => bed.sw.run('arping', ['-c', '1', '-w', '1', '-I', dev, '10.99.0.1'], { inNetns: true })));
      },
    });
    expect(r.flags.map((f) => f.message.replace(/\d+ frame/, 'N frame'))).toEqual(['VLAN 30: N frame(s) on peth0, but no port expects VLAN 30 (not in the file)']);
    // The switch's VLAN 10 broadcast reached the access guest untagged and the trunk guest tagged;
    // classic mode's trunk bridge floods VLAN 30 to the trunk guest's port, whose guard keeps it out.
    const tally = (dev: string, key: string) => r.hops.find((h) => h.dev === dev)?.frames[key] ?? 0;
    expect([tally('peth0', '10'), tally('vif1.0', 'untagged'), tally('vif2.0', '10'), tally('vif2.0', '30')].map((n) => n > 0)).toEqual([true, true, true, false]);
  });

  it('xenbridge lab runs verify --traffic last and every path passes', async () => {
    const lines: string[] = [];
    const r = await runLab({ mode: 'classic', prefix: `xt${process.pid % 1000}`, keep: false, print: (l) => lines.push(l), tick: (ok) => (ok ? 'ok' : 'FAIL'), context: createContext({ runDirRoot: bed.runDirRoot }) });
    expect(r.checks.every((c) => c.ok), lines.join('\n')).toBe(true);
    expect(lines.join('\n')).toMatch(/verify --traffic[\s\S]*vlan 20: ARP who-has 10\.20\.0\.1[\s\S]*ok 3 of 3 paths pass/);
  });
});
