/**
 * Generated bad command lines through the real CLI: every one exits 2 (usage) with one clear line
 * and no stack, creates no run directory for a namespace, and leaves the namespace and the run
 * directory byte for byte. Plus the run-directory trust rule: a planted pending.json in a directory
 * others can write is not acted on.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/netns.js';
import { expectOneClearLine, nsSnapshot, pool, runCli, treeSnapshot } from './checks.js';
import { cliCases } from './gen-cli.js';

let sb: Sandbox;
let cfgDir: string;
let cfg: string;

beforeAll(async () => {
  sb = await makeSandbox();
  cfgDir = mkdtempSync(join(tmpdir(), 'xenbridge-hostile-cli-'));
  cfg = join(cfgDir, 'topology.yaml');
  writeFileSync(cfg, 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n');
});
afterAll(async () => {
  rmSync(cfgDir, { recursive: true, force: true });
  await sb.cleanup();
});

describe('generated bad command lines', () => {
  it('each exits 2 with one clear line and changes nothing', async () => {
    const cases = cliCases(cfg, sb.dom0);
    expect(cases.length).toBeGreaterThanOrEqual(80);
    const before = await nsSnapshot(sb.dom0);
    const runBefore = treeSnapshot(sb.runDir);
    const results = await pool(cases, 4, (c) => runCli(c.args, sb.env));
    results.forEach((r, i) => {
      const label = `${cases[i]!.category}: ${JSON.stringify(cases[i]!.args)}`;
      expectOneClearLine(r, label);
      expect(r.code, `${label}: ${r.stderr}`).toBe(2);
    });
    expect(await nsSnapshot(sb.dom0)).toBe(before);
    expect(treeSnapshot(sb.runDir)).toBe(runBefore);
    const counts: Record<string, number> = {};
    for (const c of cases) counts[c.category] = (counts[c.category] ?? 0) + 1;
    console.log(`bad command lines by category: ${JSON.stringify(counts)}`);
  }, 900_000);

  it('a pending.json planted in a run directory others can write is not trusted, and nothing is written there', async () => {
    const planted = join(cfgDir, 'run');
    const scope = join(planted, `netns-${sb.dom0}`);
    mkdirSync(scope, { recursive: true });
    chmodSync(planted, 0o777);
    chmodSync(scope, 0o777);
    writeFileSync(join(scope, 'pending.json'), JSON.stringify({ id: 'deadbeef', steps: [], source: '/etc/passwd', timer: { pid: 1 } }));
    const before = treeSnapshot(planted);
    for (const cmd of ['confirm', 'rollback', 'status', 'stop']) {
      const r = await runCli([cmd, '--netns', sb.dom0], { ...sb.env, XENBRIDGE_RUN_DIR: planted });
      expectOneClearLine(r, cmd);
      expect([r.code, r.stderr.split('\n')[0]], cmd).toEqual([1, `xenbridge: xenbridge's run directory ${planted} is not a directory only this user can write: its files are not trusted`]);
    }
    expect(treeSnapshot(planted)).toBe(before);
  });
});
