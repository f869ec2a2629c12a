// The seed's story on a real 802.1Q kernel (Debian's, in the VM bed).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyTopology, stopNetwork } from '../../src/apply/apply.js';
import { parseTopology } from '../../src/config/validate.js';
import { labTopology } from '../../src/lab/example.js';
import { render } from '../../src/plan/render.js';
import { readState } from '../../src/state/read.js';
import { lint } from '../../src/verify/lint.js';
import { makeLabBed, type LabBed } from '../helpers/lab-bed.js';

let bed: LabBed;
beforeEach(async () => {
  bed = await makeLabBed();
});
afterEach(async () => bed.cleanup());

describe('the naive network-bridge layout (VLAN device on the NIC that is a bridge port)', () => {
  it('lets dom0 reach VLAN 10 but not a trunk guest using VLAN 10; VLAN 20 still passes', async () => {
    // What network-bridge plus "vconfig add peth0 10" left behind, built by hand, not by xenbridge.
    await bed.batch(bed.dom0, [
      'addr flush dev eth0', 'link set dev eth0 down', 'link set dev eth0 name peth0',
      'link add name xenbr0 type bridge stp_state 0 forward_delay 0', 'link set dev peth0 master xenbr0',
      'link set dev vif2.0 master xenbr0', 'link set dev peth0 up', 'link set dev vif2.0 up', 'link set dev xenbr0 up',
      'addr add 192.0.2.10/24 dev xenbr0',
      'link add link peth0 name peth0.10 type vlan id 10', 'addr add 10.10.0.2/24 dev peth0.10', 'link set dev peth0.10 up',
    ]);
    expect(await bed.ping(bed.dom0, '10.10.0.1')).toBe(true);
    expect(await bed.ping(bed.guest('vif2.0'), '10.10.0.1')).toBe(false);
    expect(await bed.ping(bed.guest('vif2.0'), '10.20.0.1')).toBe(true);
    const findings = lint(await readState(bed.dom0)).filter((f) => f.rule === 'vlan-on-bridge-port');
    expect(findings.map((f) => f.message)).toEqual([
      "peth0.10 (VLAN 10) sits on peth0, a port of xenbr0: it takes VLAN 10's frames before xenbr0 sees them, so guests on xenbr0 lose VLAN 10",
    ]);
  });
});

// The same intent applied by xenbridge, in both modes, with every guest attached: test/vlan/traffic.test.ts
// ("a healthy ... layout": every path from dom0 and the guests, hop by hop, and no lint error) and
// test/vlan/guard.test.ts (every guest's pings through the hook's guards).

describe('an admin-made VLAN device on the NIC', () => {
  it('is moved to dom0\'s veth with its address, never destroyed silently nor left on a bridge port', async () => {
    await bed.batch(bed.dom0, ['link add link eth0 name eth0.10 type vlan id 10', 'addr add 10.10.0.2/24 dev eth0.10', 'link set dev eth0.10 up']);
    expect(await bed.ping(bed.dom0, '10.10.0.1')).toBe(true);
    const t = parseTopology('version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    vlans: [{id: 10}]\n');
    const r = await applyTopology(t, bed.ctx);
    expect(r.plan.steps.map((s) => render(s.op).line)).toEqual(expect.arrayContaining(['link del dev eth0.10', 'link add link eth0 name eth0.10 type vlan id 10', 'addr add 10.10.0.2/24 dev xenbr0v10']));
    const s = await readState(bed.dom0);
    const dev = s.links.find((l) => l.name === 'eth0.10');
    expect([dev?.link, dev?.master]).toEqual(['eth0', 'xenbr0v10']);
    expect(s.links.find((l) => l.name === 'eth0')?.kind).toBe('veth');
    expect(await bed.ping(bed.dom0, '10.10.0.1')).toBe(true);
  });

  it('is refused with a clear reason when the file does not list its VLAN', async () => {
    await bed.batch(bed.dom0, ['link add link eth0 name eth0.30 type vlan id 30']);
    const before = await bed.dump();
    const t = parseTopology('version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n');
    await expect(applyTopology(t, bed.ctx)).rejects.toThrow('eth0.30 (VLAN 30) sits on the NIC eth0, which becomes a bridge port; it would steal VLAN 30 from xenbr0');
    expect(await bed.dump()).toBe(before);
  });
});

describe('apply -> stop cycles', () => {
  it('leave no stray links and restore the namespace exactly', async () => {
    const before = await bed.dump();
    const t = parseTopology(labTopology('classic'));
    for (let i = 0; i < 2; i++) {
      await applyTopology(t, bed.ctx);
      expect((await stopNetwork(bed.ctx)).errors).toEqual([]);
      expect(await bed.dump()).toBe(before);
    }
  });
});
