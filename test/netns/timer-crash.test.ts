import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dump, sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { alive, pendingFile, scopeDir, waitFor } from '../helpers/pending.js';
import { cli } from '../helpers/sh.js';

/** Random moments around the deadline at which the revert timer is killed. */
const TRIALS = 30;

let sb: Sandbox;
let cfg: string;
let before: string;
beforeAll(async () => {
  ({ sb, cfg } = await sandboxWithTopology('version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n'));
  before = await dump(sb.dom0);
});
afterAll(async () => sb.cleanup());

const xb = (...args: string[]) => cli([...args, '--netns', sb.dom0], sb.env);
const leftovers = (): string[] => readdirSync(scopeDir(sb)).filter((f) => f !== 'lock' && f !== 'revert.log');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the revert timer killed -9 at random moments of its revert', () => {
  it(`${TRIALS} trials: rollback, or stop, ends exactly where the revert would have`, async () => {
    for (let t = 0; t < TRIALS; t++) {
      const r = await xb('try', '1', '-c', cfg);
      expect(r.code, r.stderr).toBe(0);
      const p = JSON.parse(readFileSync(pendingFile(sb), 'utf8'));
      const delay = Math.floor(Math.random() * 400);
      const at = `trial ${t}: timer killed ${delay} ms after its deadline`;
      await sleep(Math.max(0, Date.parse(p.deadline) - Date.now()) + delay);
      try {
        process.kill(p.timer.pid, 'SIGKILL');
      } catch {
        // it had finished
      }
      await waitFor('the timer to die', () => !alive(p.timer.pid), 3000);
      const s = JSON.parse((await xb('status', '--json')).stdout);
      if (s.interrupted) expect(s.interrupted.what, at).toBe(`revert of change ${p.id}`);
      const end = await xb(t % 2 === 0 ? 'rollback' : 'stop');
      expect([end.code, end.stderr], at).toEqual([0, '']);
      expect(await dump(sb.dom0), at).toBe(before);
      expect(leftovers(), at).toEqual([]);
    }
  }, 900_000);
});
