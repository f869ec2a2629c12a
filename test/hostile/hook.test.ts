/**
 * Generated bad vif events through the real hook (bin/xenbridge vif …) against real veth vifs and
 * the file-backed xenstore: exit 1 with hotplug-status=error and a one-line hotplug-error when
 * XENBUS_PATH names a vif, no xenstore write when it does not, offline with a hostile vifname
 * succeeds touching nothing; never a stack; the namespace and run directory stay byte for byte.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { cli } from '../helpers/sh.js';
import { makeXenBed, type XenBed } from '../helpers/vif.js';
import { expectOneClearLine, nsSnapshot, pool, runCli, treeSnapshot } from './checks.js';
import { hookCases, type HookCase } from './gen-hook.js';

const TOPO = `version: 1
bridges:
  - name: xenbr0
    uplink: eth0
  - name: xenbr1
    dom0: {ifname: int0}
`;
const SLOTS = 4;

let sb: Sandbox;
let xen: XenBed;
const cases = hookCases();

beforeAll(async () => {
  let cfg: string;
  ({ sb, cfg } = await sandboxWithTopology(TOPO));
  expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env)).stderr).toBe('');
  xen = makeXenBed(sb, cfg);
  for (let d = 1; d <= SLOTS; d++) await xen.makeVif(d, 0);
  // An honest online and offline first, so the run directory holds what any vif event leaves.
  await xen.makeVif(99, 0);
  xen.setVif(99, 0, { bridge: 'xenbr0' });
  for (const a of ['online', 'offline']) expect((await xen.hook(a, 99, 0)).code).toBe(0);
}, 300_000);
afterAll(async () => {
  await xen.cleanup();
  await sb.cleanup();
});

const envFor = (c: HookCase, d: number): Record<string, string> => {
  const env: Record<string, string | undefined> = {
    ...xen.env, XENBUS_PATH: `backend/vif/${d}/0`, XENBUS_TYPE: 'vif', XENBUS_BASE_PATH: 'backend', vif: `vif${d}.0`, script: '/etc/xen/scripts/vif-xenbridge', ...c.env,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
};

const check = async (c: HookCase, d: number): Promise<void> => {
  const label = `${c.category}: ${c.name}`;
  rmSync(join(xen.store, `backend/vif/${d}`), { recursive: true, force: true });
  xen.setVif(d, 0, { bridge: 'xenbr0', ...c.keys });
  // Other slots run at the same time: this slot's own subtree is what a stray write would land in.
  const mine = join(xen.store, `backend/vif/${d}`);
  const storeBefore = treeSnapshot(mine);
  const r = await runCli(['vif', ...c.argv], envFor(c, d));
  if (c.expect === 'offline-ok') {
    expect([r.code, r.stderr.split('\n').length], `${label}: ${r.stderr}`).toEqual([0, 1]);
    expectOneClearLine(r, label, 'vif-xenbridge: ');
    return;
  }
  expect(r.code, `${label}: ${r.stderr}`).toBe(1);
  expectOneClearLine(r, label, c.expect === 'no-write' ? 'xenbridge: ' : 'vif-xenbridge: ');
  if (c.expect === 'no-write') {
    expect(treeSnapshot(mine), label).toBe(storeBefore);
    return;
  }
  expect(xen.read(d, 0, 'hotplug-status'), `${label}: ${r.stderr}`).toBe('error');
  const msg = xen.read(d, 0, 'hotplug-error') ?? '';
  expect(msg, label).not.toMatch(/\n/);
  expect(msg.startsWith(`vif${d}.0 online: `) || msg.startsWith('usage error: '), `${label}: ${msg}`).toBe(true);
};

describe('generated bad vif events', () => {
  it(`each of ${cases.length} is refused (or, offline, harmless) and changes nothing`, async () => {
    // The logs are meant to grow: each event is one line of them.
    const skip = [xen.store, xen.env.XENBRIDGE_HOTPLUG_LOG ?? '', xen.env.XENBRIDGE_TEST_SYSLOG ?? ''];
    const before = await nsSnapshot(sb.dom0);
    const runBefore = treeSnapshot(sb.runDir, skip);
    const slots = Array.from({ length: SLOTS }, (_, i) => i + 1);
    const queue = [...cases];
    await pool(slots, SLOTS, async (d) => {
      for (let c = queue.shift(); c !== undefined; c = queue.shift()) await check(c, d);
    });
    expect(await nsSnapshot(sb.dom0)).toBe(before);
    expect(treeSnapshot(sb.runDir, skip)).toBe(runBefore);
    const counts: Record<string, number> = {};
    for (const c of cases) counts[c.category] = (counts[c.category] ?? 0) + 1;
    console.log(`bad vif events by category: ${JSON.stringify(counts)}`);
  }, 900_000);
});
