import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dump, sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { scopeDir } from '../helpers/pending.js';
import { cli } from '../helpers/sh.js';
import { EVERY_KIND_OF_STEP } from '../helpers/topologies.js';

/** Random moments; each trial is an apply killed halfway, its rollback killed too, and the run that ends it. */
const TRIALS = 30;

let sb: Sandbox;
let cfg: string;
let before: string;
let n: number;
beforeAll(async () => {
  ({ sb, cfg } = await sandboxWithTopology(EVERY_KIND_OF_STEP));
  before = await dump(sb.dom0);
  n = JSON.parse((await xb('plan', '-c', cfg, '--format', 'json')).stdout).changes;
});
afterAll(async () => sb.cleanup());

const xb = (...args: string[]) => cli([...args, '--netns', sb.dom0], sb.env);
const killedAt = (k: number, ...args: string[]) => cli([...args, '--netns', sb.dom0], { ...sb.env, XENBRIDGE_FAILPOINT: `kill:${k}` });
const leftovers = (): string[] => readdirSync(scopeDir(sb)).filter((f) => f !== 'lock' && f !== 'history.json');
const pick = (from: number, to: number): number => from + Math.floor(Math.random() * (to - from));

describe('rollback killed -9 at random moments', () => {
  it(`${TRIALS} trials: status names it; rollback again, or apply then stop, restores the namespace exactly`, async () => {
    for (let t = 0; t < TRIALS; t++) {
      const k1 = pick(1, n);
      const k2 = pick(0, k1);
      const then = t % 2 === 0 ? 'rollback again' : 'apply, then stop';
      const at = `trial ${t}: apply killed before step ${k1}, its rollback before line ${k2}; ${then}`;
      expect((await killedAt(k1, 'apply', '-c', cfg)).code, at).toBe(-1);
      expect((await killedAt(k2, 'rollback')).code, at).toBe(-1);
      const s = JSON.parse((await xb('status', '--json')).stdout);
      expect(s.interrupted, at).toMatchObject({ what: 'rollback of apply', done: k2, uncertain: 0 });
      if (t % 2 === 0) {
        const r = await xb('rollback');
        expect([r.code, r.stderr], at).toEqual([0, '']);
        expect(r.stdout, at).toMatch(/^rolled back the interrupted rollback of apply of pid \d+: \d+ step\(s\) had run$/);
      } else {
        const r = await xb('apply', '-c', cfg);
        expect([r.code, r.stderr], at).toEqual([0, expect.stringMatching(/^xenbridge: an earlier rollback of apply by pid \d+ at \S+ was interrupted after \d+ of \d+ steps; it was finished$/)]);
        const stop = await xb('stop');
        expect([stop.code, stop.stderr], at).toEqual([0, '']);
      }
      expect(await dump(sb.dom0), at).toBe(before);
      expect(leftovers(), at).toEqual([]);
    }
  }, 900_000);
});
