// Guest isolation on a real 802.1Q kernel, per mode: hostile guests of the lab send crafted frames
// from raw sockets; captures on the switch and the other guests show none arriving where it must
// not, while access, trunk and untagged traffic still pings, and the switch's foreign VIDs never
// reach a guest that does not carry them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyTopology } from '../../src/apply/apply.js';
import { parseTopology } from '../../src/config/validate.js';
import { LAB_CHECKS, LAB_GUESTS, labGuestMac, labTopology } from '../../src/lab/example.js';
import { runVifHook } from '../../src/xen/vif-hook.js';
import { sendAndCapture, type FrameSpec } from '../helpers/frames.js';
import { fakeXenstoreEnv, makeLabBed, type LabBed } from '../helpers/lab-bed.js';

const ACCESS = labGuestMac('vif1.0');
const TRUNK = labGuestMac('vif2.0');
const UNTAGGED = labGuestMac('vif3.0');
const IPS: Record<string, string> = { 'vif1.0': '10.10.0.11', 'vif2.0': '10.10.0.12 10.20.0.12', 'vif3.0': '192.0.2.13' };

for (const mode of ['classic', 'filtering'] as const) {
  describe(`${mode} mode: the lab's guests, guarded`, () => {
    let bed: LabBed;
    const ns = (vif: string) => bed.names.guest(LAB_GUESTS.find((g) => g.vif === vif)!);
    const at = (...who: string[]): [string, string, string][] =>
      who.map((w) => (w === 'switch' ? ['switch', bed.names.sw, 'sw0'] : [w, ns(w), 'eth0']));

    beforeAll(async () => {
      bed = await makeLabBed();
      const store = join(bed.runDirRoot, `${bed.names.dom0}-xenstore`);
      const cfg = join(bed.runDirRoot, `${bed.names.dom0}.yaml`);
      writeFileSync(cfg, labTopology(mode));
      // The file-backed xenstore is a shell script: under emulation on a busy host it can take seconds.
      const ctx = bed.with({ env: fakeXenstoreEnv(store), xenstoreTimeoutMs: 120_000 });
      await applyTopology(parseTopology(labTopology(mode)), ctx);
      for (const [i, g] of LAB_GUESTS.entries()) {
        const base = join(store, `backend/vif/${i + 1}/0`);
        mkdirSync(base, { recursive: true });
        const keys = { bridge: g.bridge, mac: labGuestMac(g.vif), ...(IPS[g.vif] ? { ip: IPS[g.vif] } : {}) };
        for (const [k, v] of Object.entries(keys)) writeFileSync(join(base, k), v);
        await runVifHook({ argv: ['online', 'type_if=vif'], env: { vif: g.vif, XENBUS_PATH: `backend/vif/${i + 1}/0` }, topologyFile: cfg, logFile: join(store, 'hotplug.log') }, ctx);
      }
    });
    afterAll(async () => bed.cleanup());

    it('legitimate access, trunk and untagged traffic still pings', async () => {
      for (const c of LAB_CHECKS.filter((x) => x.from !== 'dom0')) expect([c.name, await bed.ping(bed.guest(c.from), c.to)]).toEqual([c.name, true]);
    });

    it('the access guest (VLAN 10) hops nowhere: no tag, stack, VID 0/4095, spoofed MAC, IP, ARP or RA leaves it', async () => {
      const own = { src: ACCESS, kind: 'ipv4' as const, sip: '10.10.0.11' };
      const frames: FrameSpec[] = [
        { id: 'hop20', ...own, tags: [[0x8100, 20]] }, { id: 'tag10', ...own, tags: [[0x8100, 10]] },
        { id: 'vid0', ...own, tags: [[0x8100, 0]] }, { id: 'vid4095', ...own, tags: [[0x8100, 4095]] },
        { id: 'qinq', ...own, tags: [[0x88a8, 10], [0x8100, 20]] }, { id: 'dbl', ...own, tags: [[0x8100, 10], [0x8100, 20]] },
        { id: 'macdom0', ...own, src: '02:00:00:00:d0:00' }, { id: 'macguest', ...own, src: TRUNK },
        { id: 'ipdom0', ...own, sip: '10.10.0.2' }, { id: 'garp', src: ACCESS, kind: 'arp', sip: '10.10.0.2', op: 2 },
        { id: 'ra', src: ACCESS, kind: 'ra' },
        { id: 'ok', ...own },
      ];
      expect(await sendAndCapture([ns('vif1.0'), 'eth0'], frames, at('switch', 'vif2.0', 'vif3.0'), 1500)).toEqual({ switch: ['ok'], 'vif2.0': ['ok'], 'vif3.0': [] });
    });

    it('the untagged guest sends no tagged frame anywhere', async () => {
      const own = { src: UNTAGGED, kind: 'ipv4' as const, sip: '192.0.2.13' };
      const frames: FrameSpec[] = [{ id: 't10', ...own, tags: [[0x8100, 10]] }, { id: 't20', ...own, tags: [[0x8100, 20]] }, { id: 'qinq', ...own, tags: [[0x88a8, 1], [0x8100, 10]] }, { id: 'ok', ...own }];
      expect(await sendAndCapture([ns('vif3.0'), 'eth0'], frames, at('switch', 'vif1.0', 'vif2.0'), 1500)).toEqual({ switch: ['ok'], 'vif1.0': [], 'vif2.0': [] });
    });

    it('the trunk guest (10, 20) carries exactly its VLANs, tagged once, held to its addresses on each', async () => {
      const own = { src: TRUNK, kind: 'ipv4' as const, sip: '10.10.0.12' };
      const v10 = { tags: [[0x8100, 10]] as [number, number][] };
      const frames: FrameSpec[] = [
        { id: 'v10', ...own, ...v10 }, { id: 'v30', ...own, tags: [[0x8100, 30]] }, { id: 'v999', ...own, tags: [[0x8100, 999]] },
        { id: 'untag', ...own }, { id: 'stack', ...own, tags: [[0x8100, 10], [0x8100, 20]] }, { id: 'mac', ...own, src: ACCESS, ...v10 },
        { id: 'ipdom0', ...own, ...v10, sip: '10.10.0.2' }, { id: 'garp', ...v10, src: TRUNK, kind: 'arp', sip: '10.10.0.2', op: 2 },
        { id: 'ra', ...v10, src: TRUNK, kind: 'ra' },
      ];
      expect(await sendAndCapture([ns('vif2.0'), 'eth0'], frames, at('switch', 'vif1.0', 'vif3.0'), 1500)).toEqual({ switch: ['v10'], 'vif1.0': ['v10'], 'vif3.0': [] });
    });

    it('the switch\'s foreign VIDs reach no guest that does not carry them', async () => {
      const sw = { src: '02:00:00:00:5e:01', kind: 'ipv4' as const, sip: '10.20.0.1' };
      const frames: FrameSpec[] = [
        { id: 's20', ...sw, tags: [[0x8100, 20]] }, { id: 's999', ...sw, tags: [[0x8100, 999]] },
        { id: 's10in20', ...sw, tags: [[0x8100, 10], [0x8100, 20]] }, { id: 's10', ...sw, tags: [[0x8100, 10]] }, { id: 'plain', ...sw },
      ];
      expect(await sendAndCapture([bed.names.sw, 'sw0'], frames, at('vif1.0', 'vif2.0', 'vif3.0'), 1500)).toEqual({ 'vif1.0': ['s10'], 'vif2.0': ['s10', 's20'], 'vif3.0': ['plain'] });
    });
  });
}
