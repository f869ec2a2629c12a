/**
 * Review of repair-guards (run by the drop-in of nftables.service): a flush of the ruleset while vif events run,
 * the hook service's resident nft across a flush, a repair-guards killed halfway, and a damaged
 * record must neither leave attached guests unguarded nor stop the vif hook. Guest domains 70-90.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { sendAndCapture, type FrameSpec } from '../helpers/frames.js';
import { cli, sh, type CliResult } from '../helpers/sh.js';
import { guestMac, makeXenBed, type XenBed } from '../helpers/vif.js';
import { startService, viaHook, type Service } from '../helpers/hookd.js';
import { TAKEOVER_ONLY } from '../helpers/topologies.js';

let sb: Sandbox;
let xen: XenBed;
let cfg: string;
let dir: string;
let svc: Service | undefined;
const guests = new Map<number, string>();

beforeEach(async () => {
  ({ sb, cfg } = await sandboxWithTopology(TAKEOVER_ONLY));
  expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
  xen = makeXenBed(sb, cfg);
  dir = join(sb.runDir, `netns-${sb.dom0}`);
  guests.clear();
  svc = undefined;
}, 60_000);
afterEach(async () => {
  if (svc && svc.proc.exitCode === null) await svc.stop();
  await xen.cleanup();
  await sb.cleanup();
});

const addr = (d: number): string => `192.0.2.${d}`;
/** vifD.0 with ip=192.0.2.D, its xenstore keys written; not yet online. */
const vif = async (d: number): Promise<void> => {
  guests.set(d, await xen.makeVif(d, 0, `${addr(d)}/24`));
  xen.setVif(d, 0, { bridge: 'xenbr0', ip: addr(d) });
};
const online = async (d: number): Promise<void> => {
  await vif(d);
  const r = await xen.hook('online', d, 0);
  expect([r.code, r.stderr]).toEqual([0, expect.stringContaining('untagged only')]);
};
const xb = (args: string[], env: Record<string, string> = {}): Promise<CliResult> => cli([...args, '--netns', sb.dom0], { ...sb.env, ...env });
const repair = (env: Record<string, string> = {}): Promise<CliResult> => xb(['repair-guards'], env);
const verify = (): Promise<CliResult> => xb(['verify', '-c', cfg]);
const flush = (): Promise<string> => sh(`ip netns exec ${sb.dom0} nft flush ruleset`);
/** What reaches the switch of guest d's own frame and of two spoofs. */
const spoofs = (d: number): Promise<Record<string, string[]>> => {
  const frames: FrameSpec[] = [
    { id: 'own', src: guestMac(d, 0), kind: 'ipv4', sip: addr(d) },
    { id: 'spoof', src: guestMac(d, 0), kind: 'ipv4', sip: '192.0.2.1' },
    { id: 'garp', src: guestMac(d, 0), kind: 'arp', sip: '192.0.2.10', op: 2 },
  ];
  return sendAndCapture([guests.get(d) as string, 'eth0'], frames, [['switch', sb.sw, 'sw0']]);
};
const GUARDED = { switch: ['own'] };

describe('repair-guards killed halfway (systemd stops the unit while it runs: nftables restarted again, shutdown)', () => {
  it('neither stops the next vif online nor the next repair-guards, which puts every guard back', async () => {
    for (const d of [70, 71, 72]) await online(d);
    await flush();
    // kill -9 after the first of its three guard steps ran.
    expect((await repair({ XENBRIDGE_FAILPOINT: 'kill:1' })).code).toBe(-1);
    await vif(73);
    const on = await xen.hook('online', 73, 0);
    expect([on.code, on.stderr]).toEqual([0, expect.stringMatching(/untagged only.*; undid an interrupted vif guards: repair by pid \d+ .* was interrupted after 1 of 3 steps$/)]);
    const r = await repair();
    expect(r.code, r.stderr).toBe(0);
    expect((await verify()).code).toBe(0);
    for (const d of [70, 72, 73]) expect(await spoofs(d), `vif${d}.0`).toEqual(GUARDED);
  });
});

describe('a damaged record', () => {
  it('of one vif does not keep every other vif unguarded after a flush: the others are put back, the damaged one is named and the exit code says so', async () => {
    for (const d of [74, 75, 76]) await online(d);
    await flush();
    writeFileSync(join(dir, 'guards/vif75.0.json'), '{garbage');
    const r = await repair();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^xenbridge: \S+\/guards\/vif75\.0\.json \(the record of a vif's guard\) cannot be read: it is not JSON \(truncated\?\): its vif's guard was not put back\n/);
    expect(r.stdout).toBe(['re-created the guard of vif74.0 (it was missing)', 're-created the guard of vif76.0 (it was missing)'].join('\n'));
    for (const d of [74, 76]) expect(await spoofs(d), `vif${d}.0`).toEqual(GUARDED);
  });

  it('of VLAN bridges made on demand, which no guard needs, does not keep the guards out after a flush', async () => {
    await online(79);
    await flush();
    writeFileSync(join(dir, 'on-demand.json'), '{garbage');
    const r = await repair();
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 're-created the guard of vif79.0 (it was missing)', '']);
    expect(await spoofs(79)).toEqual(GUARDED);
  });

  it('that is a FIFO, a directory or a symlink is refused without hanging; the other vifs are put back', async () => {
    for (const d of [77, 78]) await online(d);
    const rec = join(dir, 'guards/vif78.0.json');
    renameSync(rec, `${rec}.bak`);
    for (const make of [`mkfifo ${rec}`, `mkdir ${rec}`, `ln -s ${rec}.bak ${rec}`]) {
      await flush();
      await sh(make);
      const r = await repair();
      expect([r.code === 0, r.stderr], make).toEqual([false, expect.stringContaining('vif78.0.json')]);
      expect(await spoofs(77), make).toEqual(GUARDED);
      await sh(`rm -rf ${rec}`);
    }
  });
});

describe('vif events while the ruleset is flushed and repaired', () => {
  it('onlines and offlines of several vifs at once with a flush and repair-guards end with every attached vif guarded', async () => {
    for (const d of [79, 80, 81]) await online(d);
    for (const d of [82, 83, 84]) await vif(d);
    await flush();
    const events = await Promise.all([
      repair(),
      ...[82, 83, 84].map((d) => xen.hook('online', d, 0)),
      ...[80, 81].map((d) => xen.hook('offline', d, 0)),
      repair(),
    ]);
    for (const e of events) expect([e.code, e.stderr]).toEqual([0, expect.any(String)]);
    // However they interleaved, the last repair-guards ran after the flush.
    expect((await repair()).code).toBe(0);
    const v = await verify();
    expect([v.code, v.stdout]).toEqual([0, expect.any(String)]);
    for (const d of [79, 82, 83, 84]) expect(await spoofs(d), `vif${d}.0`).toEqual(GUARDED);
  });

  it('an online after a flush and before repair-guards is unguarded (no hook chains) until repair-guards, which puts them back', async () => {
    await online(85);
    await flush();
    await online(86);
    expect(await spoofs(86)).toEqual({ switch: ['garp', 'own', 'spoof'] });
    expect((await verify()).stdout).toMatch(/vif86\.0 has only part of its guard/);
    expect((await repair()).stdout).toBe(['re-created the guard of vif85.0 (it was missing)', 're-created the guard of vif86.0 (it was incomplete)'].join('\n'));
    for (const d of [85, 86]) expect(await spoofs(d), `vif${d}.0`).toEqual(GUARDED);
  });

  it("the hook service's resident nft still guards after a flush and repair-guards; an offline there after a flush succeeds", async () => {
    svc = await startService(sb, xen);
    await vif(87);
    await vif(88);
    await vif(89);
    for (const d of [87, 88]) expect((await viaHook(xen, 'online', d, 0)).stderr).toContain('untagged only');
    await flush();
    expect((await viaHook(xen, 'offline', 88, 0)).code).toBe(0);
    expect((await repair()).code).toBe(0);
    const r = await viaHook(xen, 'online', 89, 0);
    expect([r.code, r.stderr]).toEqual([0, expect.stringContaining('untagged only')]);
    const v = await verify();
    expect([v.code, v.stdout]).toEqual([0, expect.any(String)]);
    for (const d of [87, 89]) expect(await spoofs(d), `vif${d}.0`).toEqual(GUARDED);
  });

  it('a retired guard (its offline left it) and an unrecorded chain survive a flush as nothing: repair-guards adds neither back', async () => {
    await online(90);
    await vif(71);
    mkdirSync(join(dir, 'guards/retired'), { recursive: true });
    expect((await xen.hook('online', 71, 0)).code).toBe(0);
    expect((await xen.hook('offline', 71, 0)).code).toBe(0);
    await flush();
    const r = await repair();
    expect([r.code, r.stdout]).toEqual([0, expect.stringContaining('re-created the guard of vif90.0')]);
    expect(r.stdout).not.toContain('vif71.0 (it');
    expect(await sh(`ip netns exec ${sb.dom0} nft list chains bridge`)).not.toContain('vif71.0');
    expect(await spoofs(90)).toEqual(GUARDED);
  });
});

describe('what repair-guards says', () => {
  it('names a guard changed by hand in words: "other than its record", not "it was differs"', async () => {
    await online(70);
    await sh(`ip netns exec ${sb.dom0} nft flush chain bridge xenbridge in-vif70.0`);
    expect(await spoofs(70)).toEqual({ switch: ['garp', 'own', 'spoof'] });
    const r = await repair();
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 're-created the guard of vif70.0 (it was other than its record)', '']);
    expect(await spoofs(70)).toEqual(GUARDED);
  });
});
