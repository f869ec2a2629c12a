/**
 * nftables.service's start, reload and stop replace the whole ruleset (Debian's nftables.conf begins
 * with `flush ruleset`), vif guards included: `xenbridge repair-guards`, which our drop-in of
 * nftables.service runs after each, puts them back from their records and touches nothing else.
 */
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dump, sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { sendAndCapture, type FrameSpec } from '../helpers/frames.js';
import { cli, sh } from '../helpers/sh.js';
import { guestMac, makeXenBed, type XenBed } from '../helpers/vif.js';
import { TAKEOVER_ONLY } from '../helpers/topologies.js';

let sb: Sandbox;
let xen: XenBed;
let cfg: string;
let guest: string;
const MAC = guestMac(1, 0);

beforeAll(async () => {
  ({ sb, cfg } = await sandboxWithTopology(TAKEOVER_ONLY));
  expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
  xen = makeXenBed(sb, cfg);
  guest = await xen.makeVif(1, 0, '192.0.2.61/24');
  xen.setVif(1, 0, { bridge: 'xenbr0', ip: '192.0.2.61' });
  expect((await xen.hook('online', 1, 0)).code).toBe(0);
}, 120_000);
afterAll(async () => {
  await xen.cleanup();
  await sb.cleanup();
});

describe('the ruleset replaced by nftables.service (flush ruleset)', () => {
  const frames: FrameSpec[] = [
    { id: 'own', src: MAC, kind: 'ipv4', sip: '192.0.2.61' },
    { id: 'spoof', src: MAC, kind: 'ipv4', sip: '192.0.2.1' },
    { id: 'garp', src: MAC, kind: 'arp', sip: '192.0.2.10', op: 2 },
  ];
  const repair = (): Promise<{ code: number; stdout: string; stderr: string }> => cli(['repair-guards', '--netns', sb.dom0], sb.env);

  it('leaves the guest unguarded until repair-guards puts its guard back; then verify is clean and the spoofs die again', async () => {
    expect(await sendAndCapture([guest, 'eth0'], frames, [['switch', sb.sw, 'sw0']])).toEqual({ switch: ['own'] });
    await sh(`ip netns exec ${sb.dom0} nft flush ruleset`);
    expect(await sendAndCapture([guest, 'eth0'], frames, [['switch', sb.sw, 'sw0']])).toEqual({ switch: ['garp', 'own', 'spoof'] });
    expect((await cli(['verify', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(3);
    const r = await repair();
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 're-created the guard of vif1.0 (it was missing)', '']);
    expect((await cli(['verify', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
    expect(await sendAndCapture([guest, 'eth0'], frames, [['switch', sb.sw, 'sw0']])).toEqual({ switch: ['own'] });
    expect((await repair()).stdout).toBe('vif guards: every one in place');
  });

  // nft missing, in PATH but not executable, or a list that never answers (killed at its 10 s).
  const brokenNft = [
    ['missing', undefined, ['repair-guards', 'apply', 'verify', 'show'], /^xenbridge: nft is not installed \(not found in PATH\): the vif guards recorded here cannot be read or put back(\n|$)/],
    ['not executable', 0o644, ['repair-guards', 'apply', 'verify', 'show'], /^xenbridge: cannot run nft: Permission denied: the vif guards recorded here cannot be read or put back(\n|$)/],
    ['hanging', 0o755, ['repair-guards'], /^xenbridge: nft -j list table bridge xenbridge did not answer within 10 s: the vif guards recorded here cannot be read or put back(\n|$)/],
  ] as const;
  it.each(brokenNft)('with nft %s, the commands that read the guards say so in one line and change nothing; with it back, the repair is done', async (kind, mode, commands, message) => {
    await sh(`ip netns exec ${sb.dom0} nft flush ruleset`);
    const bin = mkdtempSync(join(tmpdir(), 'xenbridge-nonft-'));
    try {
      for (const n of readdirSync('/usr/sbin')) if (n !== 'nft') symlinkSync(join('/usr/sbin', n), join(bin, n));
      if (kind === 'not executable') copyFileSync('/usr/sbin/nft', join(bin, 'nft'));
      if (kind === 'hanging') writeFileSync(join(bin, 'nft'), '#!/bin/sh\ncase "$*" in "-j list"*) sleep 30 ;; esac\nexec /usr/sbin/nft "$@"\n');
      if (mode !== undefined) chmodSync(join(bin, 'nft'), mode);
      const env = { ...sb.env, PATH: `${bin}:/usr/local/bin:/usr/bin:/bin` };
      // The bridge's timers tick between two reads; everything else must stay as it was.
      const state = async (): Promise<string> => `${(await dump(sb.dom0)).replace(/"\w+_timer":[\d.]+/g, '')}${await sh(`find ${sb.runDir} | sort`)}`;
      const before = await state();
      const argv = { 'repair-guards': ['repair-guards', '--netns', sb.dom0], apply: ['apply', '-c', cfg, '--netns', sb.dom0], verify: ['verify', '-c', cfg, '--netns', sb.dom0], show: ['show', '--netns', sb.dom0] };
      for (const c of commands) {
        const r = await cli(argv[c], env);
        expect([c, r.code, r.stdout, r.stderr]).toEqual([c, 1, '', expect.stringMatching(message)]);
        expect(r.stderr.length).toBeLessThan(400);
      }
      expect(await state()).toBe(before);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
    expect((await repair()).stdout).toBe('re-created the guard of vif1.0 (it was missing)');
  }, 60_000);

  it('a rule put ahead of the guards (an accept in a hook chain, or first in a vif chain) lets spoofs pass: verify names it, repair-guards takes it out', async () => {
    for (const [chain, finding] of [['pre', 'vif-guard-incomplete'], ['in-vif1.0', 'vif-guard-differs']] as const) {
      await sh(`ip netns exec ${sb.dom0} nft insert rule bridge xenbridge ${chain} accept`);
      expect(await sendAndCapture([guest, 'eth0'], frames, [['switch', sb.sw, 'sw0']])).toEqual({ switch: ['garp', 'own', 'spoof'] });
      const v = await cli(['verify', '-c', cfg, '--netns', sb.dom0, '--json'], sb.env);
      expect([chain, v.code, (JSON.parse(v.stdout) as { findings: { rule: string; message: string }[] }).findings.map((f) => `${f.rule} ${f.message.split(' ')[0]}`)])
        .toEqual([chain, 3, [`${finding} vif1.0`]]);
      expect((await repair()).code).toBe(0);
      expect((await cli(['verify', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
      expect(await sendAndCapture([guest, 'eth0'], frames, [['switch', sb.sw, 'sw0']])).toEqual({ switch: ['own'] });
    }
  });

  it('changes nothing else: an edit of the topology file not yet applied stays unapplied', async () => {
    const edited = `${cfg}.edited`;
    await sh(`sed 's/^bridges:$/bridges:\\n  - name: xenbr9/' ${cfg} > ${edited}`);
    const before = await cli(['plan', '-c', edited, '--netns', sb.dom0], sb.env);
    expect(before.stdout).toContain('xenbr9');
    await sh(`ip netns exec ${sb.dom0} nft flush ruleset`);
    expect((await repair()).code).toBe(0);
    expect(await sb.ip('-j link show dev xenbr9').catch(() => 'none')).toBe('none');
    expect((await cli(['plan', '-c', edited, '--netns', sb.dom0], sb.env)).stdout).toBe(before.stdout);
  });
});
