// Bond uplinks on Debian's kernel (it has bonding; these machines' own has not): a bond of two NICs
// to a switch namespace that runs the partner side, guests on the bridge, one member failed during
// a 10 ms ping, and an exact undo; a bond made by hand, adopted and left as it was; and the apply
// of a new and an adopted bond failed at each bond op and killed -9 at random moments.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyTopology, planTopology, readStatus, rollbackInterrupted, stopNetwork } from '../../src/apply/apply.js';
import { parseTopology } from '../../src/config/validate.js';
import { isXbError } from '../../src/errors.js';
import { createContext, type Context } from '../../src/context.js';
import type { Runner } from '../../src/exec/runner.js';
import { render } from '../../src/plan/render.js';
import type { Topology } from '../../src/model/topology.js';
import { makePlan } from '../../src/plan/diff.js';
import { showModel } from '../../src/show/model.js';
import { renderTopologyYaml } from '../../src/show/render.js';
import { readState } from '../../src/state/read.js';
import { lint } from '../../src/verify/lint.js';
import { verifyTopology } from '../../src/verify/state.js';
import { bonding, dump, ipb, makeBed, makeTwoBondBed, MIIMON, removeBeds, type Bed } from '../helpers/bond-bed.js';
import { ROOT } from '../helpers/sh.js';
import { killAfter, killWindow, readyChild } from '../helpers/ready-child.js';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PING_MS = 10;

const ping = async (from: Runner, to: string): Promise<boolean> => {
  for (let i = 0; i < 3; i++) if ((await from.run('ping', ['-c1', '-W2', '-q', to], { inNetns: true })).exitCode === 0) return true;
  return false;
};

const rxPackets = async (sw: Runner, dev: string): Promise<number> =>
  JSON.parse((await sw.run('ip', ['-j', '-s', 'link', 'show', 'dev', dev], { inNetns: true })).stdout)[0].stats64.rx.packets as number;

/**
 * A 10 ms ping from a guest to the switch; one member's switch end goes down while it runs: the one
 * that carried the guest's traffic so far. Returns the pings lost.
 */
const lossWhileFailing = async (b: Bed): Promise<{ lost: number; sent: number; failed: string }> => {
  const count = 300;
  const bg = b.guests[0]!.start('ping', ['-q', '-n', '-i', String(PING_MS / 1000), '-c', String(count), '-W', '1', '192.0.2.1'], { inNetns: true });
  const [a0, b0] = [await rxPackets(b.sw, 'swa'), await rxPackets(b.sw, 'swb')];
  await new Promise((res) => setTimeout(res, 1000));
  const [a1, b1] = [await rxPackets(b.sw, 'swa'), await rxPackets(b.sw, 'swb')];
  const failed = a1 - a0 >= b1 - b0 ? 'swa' : 'swb';
  await ipb(b.sw, [`link set dev ${failed} down`]);
  await bg.waitFor(/packets transmitted/, 60_000);
  const out = (await bg.stop()).stdout;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  if (!m) throw new Error(`ping said: ${out}`);
  return { sent: Number(m[1]), lost: Number(m[1]) - Number(m[2]), failed };
};

/** show --format yaml of the live host is a topology that plans to nothing there. */
const expectShownApplies = async (dom0: Runner): Promise<void> => {
  const s = await readState(dom0);
  const yaml = renderTopologyYaml(showModel(s));
  expect(yaml).toMatch(/bonds:/);
  expect(makePlan(parseTopology(yaml, 'shown.yaml'), s).steps.map((st) => render(st.op).line)).toEqual([]);
};

/** Makes `member` the active one again once its link is back (miimon must see it first). */
const reselect = async (dom0: Runner, bond: string, member: string): Promise<void> => {
  for (let i = 0; i < 25; i++) {
    if ((await dom0.batch('ip', [`link set dev ${bond} type bond active_slave ${member}`])).ok) return;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`${member} did not come back in ${bond}`);
};

const detachGuests = async (b: Bed): Promise<void> => {
  await ipb(b.dom0, ['link set dev vg1 nomaster', 'link set dev vg2 nomaster', 'link set dev vg1 down', 'link set dev vg2 down']);
};

const waitLacp = async (dom0: Runner): Promise<string[]> => {
  let findings: string[] = [];
  for (let i = 0; i < 50; i++) {
    findings = lint(await readState(dom0)).filter((f) => f.rule.startsWith('lacp') || f.rule.startsWith('bond')).map((f) => f.message);
    if (findings.length === 0) return findings;
    await new Promise((res) => setTimeout(res, 200));
  }
  return findings;
};

const runDirRoot = mkdtempSync(join(tmpdir(), 'xenbridge-bond-'));
const ctxOf = (r: Runner): Context => createContext({ netns: r.netns, runDirRoot });
afterAll(removeBeds);

/** applyTopology, with what still differed in the message when it rolled back. */
const apply = (t: Topology, r: Runner): ReturnType<typeof applyTopology> =>
  applyTopology(t, ctxOf(r)).catch((e: unknown) => {
    throw isXbError(e) ? new Error([e.message, ...e.detail].join('\n')) : e;
  });

const TOPOLOGY = (mode: string, extra = ''): string => `version: 1
bonds:
  - name: bond0
    mode: ${mode}
    members: [eth0, eth1]
    miimon: ${MIIMON}
${extra}bridges:
  - name: xenbr0
    uplink: bond0
`;

describe('an 802.3ad bond of two NICs as the uplink, the switch its LACP partner', () => {
  it('carries guests, survives a member failing during a 10 ms ping, is verified, and is undone exactly', async () => {
    const b = await makeBed(true);
    const before = await dump(b.dom0);
    const t = parseTopology(TOPOLOGY('802.3ad', '    lacp-rate: fast\n    xmit-hash-policy: layer3+4\n'));
    await apply(t, b.dom0);
    expect((await apply(t, b.dom0)).plan.steps).toEqual([]);
    await ipb(b.dom0, ['link set dev vg1 master xenbr0', 'link set dev vg2 master xenbr0', 'link set dev vg1 up', 'link set dev vg2 up']);
    expect(await waitLacp(b.dom0)).toEqual([]);
    const report = await verifyTopology(t, ctxOf(b.dom0));
    expect([report.ok, report.differences]).toEqual([true, []]);
    await expectShownApplies(b.dom0);
    expect(await ping(b.dom0, '192.0.2.1')).toBe(true);
    expect(await ping(b.guests[0]!, '192.0.2.1')).toBe(true);
    expect(await ping(b.guests[1]!, '192.0.2.10')).toBe(true);
    expect(await ping(b.sw, '192.0.2.22')).toBe(true);
    const r = await lossWhileFailing(b);
    // The failed link's frames are lost until miimon notices (at most one MIIMON interval), and
    // the bond's other member is already in the aggregate: MIIMON / PING_MS pings, doubled for
    // emulation's late timers.
    console.log(`802.3ad: ${r.lost} of ${r.sent} pings lost failing ${r.failed}`);
    expect(r.lost).toBeLessThanOrEqual((2 * MIIMON) / PING_MS);
    expect(r.sent).toBeGreaterThan(100);
    // verify names the member that went down.
    const rules = lint(await readState(b.dom0)).map((f) => f.rule);
    expect(rules).toContain('bond-member-down');
    await ipb(b.sw, [`link set dev ${r.failed} up`]);
    await detachGuests(b);
    await stopNetwork(ctxOf(b.dom0));
    expect(await dump(b.dom0)).toBe(before);
  });
});

describe('a bond made by hand (active-backup, holding dom0\'s address)', () => {
  it('is adopted, not recreated: guests ping through a failover, and stop leaves it as it was', async () => {
    const b = await makeBed(false);
    await ipb(b.dom0, [
      'route del default via 192.0.2.1 dev eth0', 'addr del 192.0.2.10/24 dev eth0', 'link set dev eth0 down', 'link set dev eth1 down',
      `link add name bond0 type bond mode active-backup miimon ${MIIMON}`, 'link set dev eth0 master bond0', 'link set dev eth1 master bond0',
      'link set dev bond0 up', 'addr add 192.0.2.10/24 dev bond0', 'route add default via 192.0.2.1 dev bond0',
    ]);
    const before = await dump(b.dom0);
    const ifindex = (await readState(b.dom0)).links.find((l) => l.name === 'bond0')?.ifindex;
    const t = parseTopology(TOPOLOGY('active-backup'));
    const res = await apply(t, b.dom0);
    expect(res.plan.steps.map((st) => render(st.op).line)).not.toContainEqual(expect.stringMatching(/type bond/));
    const live = await readState(b.dom0);
    expect(live.links.find((l) => l.name === 'pbond0')).toMatchObject({ ifindex, kind: 'bond', master: 'xenbr0' });
    await ipb(b.dom0, ['link set dev vg1 master xenbr0', 'link set dev vg2 master xenbr0', 'link set dev vg1 up', 'link set dev vg2 up']);
    expect(await ping(b.guests[0]!, '192.0.2.1')).toBe(true);
    expect(await ping(b.sw, '192.0.2.10')).toBe(true);
    await expectShownApplies(b.dom0);
    const r = await lossWhileFailing(b);
    // As above, plus the switch's bridge flooding until it learns the guest's MAC on the other port.
    console.log(`active-backup: ${r.lost} of ${r.sent} pings lost failing ${r.failed}`);
    expect(r.lost).toBeLessThanOrEqual((2 * MIIMON) / PING_MS);
    await ipb(b.sw, [`link set dev ${r.failed} up`]);
    // The failover the test caused may have left eth1 active; the bond as made had eth0 (its first member).
    await reselect(b.dom0, 'pbond0', 'eth0');
    await detachGuests(b);
    await stopNetwork(ctxOf(b.dom0));
    expect(await dump(b.dom0)).toBe(before);
  });
});

// A new bond of two NICs and an adopted one whose miimon the file changes: every kind of bond step.
const TWO_BONDS = `version: 1
bonds:
  - name: bond0
    mode: active-backup
    members: [eth0, eth1]
    miimon: ${MIIMON}
  - name: bond1
    mode: active-backup
    members: [eth2, eth3]
    miimon: ${MIIMON / 2}
bridges:
  - name: xenbr0
    uplink: bond0
  - name: xenbr1
    uplink: bond1
`;

describe('the apply of a new and an adopted bond, interrupted', () => {
  let b: Bed;
  let before = '';
  let bond1 = 0;
  const exact = async (): Promise<string> => `${await dump(b.dom0)}\n${await bonding(b.dom0)}`;
  // Links the apply creates get new indexes each time: compared without them, sorted. The adopted bond's is checked apart.
  const applied = async (): Promise<string> => [
    ...(await dump(b.dom0)).split('\n').map((l) => (JSON.parse(l) as Record<string, unknown>[])
      .map(({ ifindex: _i, link_index: _l, ...x }) => JSON.stringify(x)).sort().join('\n')),
    await bonding(b.dom0),
  ].join('\n');
  const adoptedIndex = async (): Promise<number | undefined> => (await readState(b.dom0)).links.find((l) => l.name === 'pbond1')?.ifindex;

  beforeAll(async () => {
    b = await makeTwoBondBed();
    before = await exact();
    bond1 = (await readState(b.dom0)).links.find((l) => l.name === 'bond1')?.ifindex ?? -1;
  });

  it('a failure at each bond op of the apply restores the namespace and both bonds exactly', async () => {
    const t = parseTopology(TWO_BONDS);
    const lines = (await planTopology(t, ctxOf(b.dom0))).steps.map((st) => render(st.op).line);
    // The bond's own ops: create, take members down and enslave them, take the adopted bond down and set its
    // options (the rest is the takeover every uplink has, failed at every op in test/vlan/rollback.test.ts;
    // each failure costs seconds under emulation).
    const ks = lines.flatMap((l, k) => (/type bond|dev eth[01] (down|master pbond0)$|dev bond1 down$/.test(l) ? [k] : []));
    expect(ks.length).toBe(7);
    const t0 = Date.now();
    for (const k of ks) {
      const ctx = createContext({ netns: b.dom0.netns, runDirRoot, failpoint: { kill: false, at: k } });
      const err = await applyTopology(t, ctx).then(() => undefined, (e: unknown) => e);
      expect(isXbError(err) && [err.kind, err.message], `op ${k}: ${lines[k]}`).toEqual(['rolled-back', `apply failed at step ${k + 1} of ${lines.length}; the host was restored`]);
      expect(await exact(), `after a failure at op ${k}: ${lines[k]}`).toBe(before);
    }
    console.log(`failpoints at ${ks.length} bond ops of ${lines.length}: ${Date.now() - t0} ms`);
  });

  it('killed -9 at random moments: status names the run; the next apply ends as an uninterrupted one, rollback or stop as before', async () => {
    const trials = 8;
    const ctx = ctxOf(b.dom0);
    const cfg = join(runDirRoot, `${b.names[1]}.yaml`);
    writeFileSync(cfg, TWO_BONDS);
    const t = parseTopology(TWO_BONDS, cfg);
    await apply(t, b.dom0);
    const clean = await applied();
    expect(await adoptedIndex()).toBe(bond1);
    await stopNetwork(ctx);
    expect(await exact()).toBe(before);
    const child = () => readyChild([join(ROOT, 'test/helpers/apply-child.mjs'), cfg, b.names[1]!, runDirRoot]);
    // When an uninterrupted apply in such a process has its journal (it reads the state before, and verifies
    // and records the run after; each takes seconds here): the kills land in that window, widened by a
    // quarter each side, so that a few also fall before the journal and after the record.
    const { exitCode, from, to, first, last, span, seen } = await killWindow(await child(), join(ctx.runDir, 'journal.json'));
    expect([exitCode, seen]).toEqual([0, true]);
    expect(await applied()).toBe(clean);
    await stopNetwork(ctx);
    let next = child();
    let interrupted = 0;
    for (let i = 0; i < trials; i++) {
      const pid = await killAfter(await next, from + Math.random() * (to - from));
      next = child();
      const st = readStatus(ctx);
      if (existsSync(join(ctx.runDir, 'journal.json'))) {
        interrupted++;
        expect(st.interrupted?.message, `trial ${i}`).toMatch(new RegExp(`^apply by pid ${pid} `));
      }
      // Even trials finish with an apply, odd ones alternate rollback and stop; the apply is stopped after.
      if (i % 2 === 0) {
        await apply(t, b.dom0);
        expect(await applied(), `apply after kill ${i}`).toBe(clean);
        expect(await adoptedIndex(), `apply after kill ${i}`).toBe(bond1);
        await stopNetwork(ctx);
      } else if (i % 4 === 1 && st.applied === 0) {
        await rollbackInterrupted(ctx);
      } else {
        // Also when the kill came after the run was recorded: then there is nothing to roll back, only to stop.
        await stopNetwork(ctx);
      }
      expect(await exact(), `undo after kill ${i}`).toBe(before);
      expect(readStatus(ctx).interrupted).toBeUndefined();
    }
    (await next).p.kill('SIGKILL');
    console.log(`kill -9 of a two-bond apply: ${trials} kills ${from.toFixed(0)}-${to.toFixed(0)} ms into it (journal ${first}-${last} ms of ${span}), ${interrupted} left a journal`);
    // Most kills land while the journal stands (the window above): the recovery was exercised.
    expect(interrupted).toBeGreaterThan(0);
  }, 600_000);
});
