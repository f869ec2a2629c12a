// The vif hook's VLAN behaviour on a real 802.1Q kernel, through the hook's own entry point with
// the file-backed xenstore (in-process: a node start costs seconds under emulation).
import { killAfter, killWindow, readyChild } from '../helpers/ready-child.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyTopology, readStatus, stopNetwork } from '../../src/apply/apply.js';
import { readJournal } from '../../src/txn/execute.js';
import { isCommitted } from '../../src/txn/stop.js';
import { parseTopology } from '../../src/config/validate.js';
import { readState } from '../../src/state/read.js';
import { runVifHook } from '../../src/xen/vif-hook.js';
import { compress } from '../../src/plan/vlan-entries.js';
import { fakeXenstoreEnv, makeLabBed, type LabBed } from '../helpers/lab-bed.js';
import { ROOT } from '../helpers/sh.js';
import { labGuestMac } from '../../src/lab/example.js';

let bed: LabBed;
let store: string;
let cfg: string;

const topo = (mode: string) => `version: 1
bridges:
  - name: xenbr0
    uplink: eth0
    mode: ${mode}
    vlans: [{id: 10, addresses: [10.10.0.2/24]}, {id: 20}]
    vif-vlans: [100-199]
`;

const setup = async (mode: string) => {
  cfg = join(bed.runDirRoot, `${bed.names.dom0}.yaml`);
  writeFileSync(cfg, topo(mode));
  await applyTopology(parseTopology(topo(mode)), bed.ctx);
};

const hook = (action: string, domid: number, keys?: Record<string, string>) => {
  const base = join(store, `backend/vif/${domid}/0`);
  if (keys) {
    mkdirSync(base, { recursive: true });
    for (const [k, v] of Object.entries({ mac: labGuestMac(`vif${domid}.0`), ...keys })) writeFileSync(join(base, k), v);
  }
  return runVifHook({
    argv: [action, 'type_if=vif'],
    env: { vif: `vif${domid}.0`, XENBUS_PATH: `backend/vif/${domid}/0` },
    topologyFile: cfg,
    logFile: join(store, 'hotplug.log'),
  }, bed.with({ env: fakeXenstoreEnv(store) }));
};
const status = (domid: number) => readFileSync(join(store, `backend/vif/${domid}/0/hotplug-status`), 'utf8');
// The kernel lists a range VID by VID; compare in the compressed form the hook writes.
const entries = async (dev: string) => compress((await readState(bed.dom0, { bridgeVlans: true })).vlans.filter((e) => e.dev === dev)).map(({ dev: _d, ...e }) => e);

beforeEach(async () => {
  bed = await makeLabBed();
  store = join(bed.runDirRoot, `${bed.names.dom0}-xenstore`);
  mkdirSync(store, { recursive: true });
});
afterEach(async () => bed.cleanup());

describe('classic mode', () => {
  it('an access vif reaches its VLAN through the per-VLAN bridge', async () => {
    await setup('classic');
    await hook('online', 1, { bridge: 'xenbr0.10' });
    expect(status(1)).toBe('connected');
    expect((await readState(bed.dom0)).links.find((l) => l.name === 'vif1.0')?.master).toBe('xenbr0v10');
    expect(await bed.ping(bed.guest('vif1.0'), '10.10.0.1')).toBe(true);
  });

  it('creates a vif-vlans VLAN once for concurrent guests and removes it when the last one leaves', async () => {
    await setup('classic');
    await bed.batch(bed.dom0, ['link add name vif4.0 type veth peer name g4', 'link add name vif5.0 type veth peer name g5']);
    await Promise.all([1, 2, 3, 4, 5].map((d) => hook('online', d, { bridge: 'xenbr0.150' })));
    const s = await readState(bed.dom0);
    expect(s.links.filter((l) => l.name === 'xenbr0v150' || l.name === 'eth0.150').map((l) => [l.name, l.kind, l.master]).sort()).toEqual([
      ['eth0.150', 'vlan', 'xenbr0v150'], ['xenbr0v150', 'bridge', undefined],
    ]);
    expect(s.links.filter((l) => l.master === 'xenbr0v150').map((l) => l.name).sort()).toEqual(['eth0.150', 'vif1.0', 'vif2.0', 'vif3.0', 'vif4.0', 'vif5.0']);
    expect(readFileSync(join(store, 'hotplug.log'), 'utf8').match(/created VLAN 150/g)).toHaveLength(1);
    // Every guest's frontend is told the port's MTU, the first one's too, whose hook made the bridge.
    expect([1, 2, 3, 4, 5].map((d) => readFileSync(join(store, `local/domain/${d}/device/vif/0/mtu`), 'utf8'))).toEqual(Array(5).fill('1500'));
    for (const d of [1, 2, 3, 4]) await hook('offline', d);
    expect((await readState(bed.dom0)).links.some((l) => l.name === 'xenbr0v150')).toBe(true);
    await hook('offline', 5);
    const after = await readState(bed.dom0);
    expect(after.links.some((l) => l.name === 'xenbr0v150' || l.name === 'eth0.150')).toBe(false);
  });

  it('kill -9 of an online that creates an on-demand VLAN, at 16 random moments around its journal: status names it; online, or offline, then ends exactly as uninterrupted', async () => {
    await setup('classic');
    const trials = 16;
    const keys = { bridge: 'xenbr0.150' };
    const ctx = bed.with({ env: fakeXenstoreEnv(store) });
    // Recreated links get new indexes, and the kernel lists their routes in creation order: compare sorted, without them.
    const settled = async () => (await bed.dump()).split('\n').filter((l) => l.trim() !== '')
      .map((l) => (JSON.parse(l) as Record<string, unknown>[]).map(({ ifindex: _i, link_index: _l, ...x }) => JSON.stringify(x)).sort().join('\n')).join('\n');
    // The references: a clean online, then a clean offline (the vif keeps Xen's MAC once online).
    await hook('online', 1, keys);
    await hook('offline', 1);
    const offlineEnd = await settled();
    await hook('online', 1, keys);
    const onlineEnd = await settled();
    await hook('offline', 1);
    const env = {
      ...fakeXenstoreEnv(store), vif: 'vif1.0', XENBUS_PATH: 'backend/vif/1/0', XENBRIDGE_NETNS: bed.names.dom0,
      XENBRIDGE_RUN_DIR: bed.runDirRoot, XENBRIDGE_CONFIG: cfg, XENBRIDGE_HOTPLUG_LOG: join(store, 'hotplug.log'),
    };
    const child = () => readyChild([join(ROOT, 'test/helpers/hook-child.mjs'), 'online', 'type_if=vif'], env);
    // When an uninterrupted online in such a process has a journal (the VLAN's run, then the vif's; before
    // them it reads xenstore and the state, which a kill leaves nothing of): the kills land in that
    // window, widened by a quarter each side, so that a few also fall before the first journal and after the last.
    const { exitCode, from, to, first, last, span, seen } = await killWindow(await child(), join(ctx.runDir, 'journal.json'));
    expect([exitCode, seen]).toEqual([0, true]);
    expect(await settled()).toBe(onlineEnd);
    await hook('offline', 1);
    let next = child();
    let interrupted = 0;
    let committed = 0;
    for (let i = 0; i < trials; i++) {
      await killAfter(await next, from + Math.random() * (to - from));
      next = child();
      const st = readStatus(ctx);
      const journal = readJournal(ctx.runDir);
      if (journal && isCommitted(ctx.runDir, journal)) {
        // Killed after the run recorded its outcome, before its journal went: over, not interrupted.
        committed++;
        expect(st.interrupted, `trial ${i}`).toBeUndefined();
      } else if (journal) {
        interrupted++;
        expect(st.interrupted?.message, `trial ${i}`).toMatch(/vif vif1\.0/);
      }
      // Even trials finish with a second online, odd ones with an offline; an offline resets the next.
      if (i % 2 === 0) {
        await hook('online', 1, keys);
        expect(await settled(), `online after kill ${i}`).toBe(onlineEnd);
        await hook('offline', 1);
      } else {
        await hook('offline', 1);
        expect(await settled(), `offline after kill ${i}`).toBe(offlineEnd);
      }
      expect(readStatus(ctx).interrupted).toBeUndefined();
    }
    (await next).p.kill('SIGKILL');
    console.log(`kill -9 of an on-demand online: ${trials} kills ${from.toFixed(0)}-${to.toFixed(0)} ms into it (journal ${first}-${last} ms of ${span}), ${interrupted} left an interrupted run's journal, ${committed} a committed run's`);
    // Most kills land while the journal stands (the window above): the recovery was exercised.
    expect(interrupted).toBeGreaterThan(0);
  }, 600_000);

  it('stop removes on-demand VLAN bridges still in use, leaving no stray links', async () => {
    await setup('classic');
    await hook('online', 1, { bridge: 'xenbr0.120' });
    expect((await stopNetwork(bed.ctx)).errors).toEqual([]);
    const s = await readState(bed.dom0);
    expect(s.links.filter((l) => l.kind === 'bridge' || l.kind === 'vlan')).toEqual([]);
    expect(s.links.find((l) => l.name === 'vif1.0')?.master).toBeUndefined();
    const nic = s.links.find((l) => l.name === 'eth0');
    expect([nic?.peerElsewhere, nic?.addrs.map((a) => `${a.local}/${a.prefixlen}`)]).toEqual([true, expect.arrayContaining(['192.0.2.10/24'])]);
  });
});

describe('filtering mode: bridge vlan entries on the vif port', () => {
  it.each([
    ['xenbr0.10', [{ vid: 10, pvid: true, untagged: true }]],
    ['xenbr0:10:20', [{ vid: 10, pvid: false, untagged: false }, { vid: 20, pvid: false, untagged: false }]],
    ['xenbr0.20:10:150', [{ vid: 10, pvid: false, untagged: false }, { vid: 20, pvid: true, untagged: true }, { vid: 150, pvid: false, untagged: false }]],
    ['xenbr0', [{ vid: 1, pvid: true, untagged: true }]],
  ])('bridge=%s', async (bridge, want) => {
    await setup('filtering');
    await hook('online', 1, { bridge });
    expect(status(1)).toBe('connected');
    expect(await entries('vif1.0')).toEqual(want);
    await hook('online', 1);
    expect(await entries('vif1.0')).toEqual(want);
  });

  it('a trunk list carries exactly its VLANs: the guest reaches 10, and 20 only when listed', async () => {
    await setup('filtering');
    await hook('online', 2, { bridge: 'xenbr0:10' });
    expect(await bed.ping(bed.guest('vif2.0'), '10.10.0.1')).toBe(true);
    expect(await bed.ping(bed.guest('vif2.0'), '10.20.0.1')).toBe(false);
  });
});
