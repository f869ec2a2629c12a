import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dump, sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { scopeDir } from '../helpers/pending.js';
import { cli, sh } from '../helpers/sh.js';
import { EVERY_KIND_OF_STEP } from '../helpers/topologies.js';

/** Random moments per command; each trial is an apply, the interrupted command and the run that ends it. */
const TRIALS = 30;

let sb: Sandbox;
let cfg: string;
let before: string;
beforeAll(async () => {
  ({ sb, cfg } = await sandboxWithTopology(EVERY_KIND_OF_STEP));
  before = await dump(sb.dom0);
});
afterAll(async () => sb.cleanup());

const xb = (...args: string[]) => cli([...args, '--netns', sb.dom0], sb.env);
const killedAt = (k: number, ...args: string[]) => cli([...args, '--netns', sb.dom0], { ...sb.env, XENBRIDGE_FAILPOINT: `kill:${k}` });
const failedAt = (k: number, ...args: string[]) => cli([...args, '--netns', sb.dom0], { ...sb.env, XENBRIDGE_FAILPOINT: String(k) });
const status = async () => JSON.parse((await xb('status', '--json')).stdout);
const leftovers = (): string[] => readdirSync(scopeDir(sb)).filter((f) => f !== 'lock');
const pick = (n: number): number => Math.floor(Math.random() * n);

const applied = async (): Promise<void> => {
  const r = await xb('apply', '-c', cfg);
  expect(r.code, r.stderr).toBe(0);
};

/** How many lines a stop of the applied file runs, from a stop killed before its first. */
const stopLines = async (): Promise<number> => {
  await applied();
  expect((await killedAt(0, 'stop')).code).toBe(-1);
  const n = (await status()).interrupted.total as number;
  expect((await xb('stop')).code).toBe(0);
  return n;
};

describe('stop killed -9 at random moments', () => {
  it(`${TRIALS} trials: status names it; stop again (or rollback, then stop) restores the namespace exactly`, async () => {
    const n = await stopLines();
    expect(n).toBeGreaterThan(20);
    for (let t = 0; t < TRIALS; t++) {
      const k = pick(n + 1);
      const how = t % 2 === 0 ? 'stop again' : 'rollback, then stop';
      const at = `trial ${t}, killed before line ${k} of ${n}, ${how}`;
      await applied();
      expect((await killedAt(k, 'stop')).code, at).toBe(-1);
      const s = await status();
      expect(s.interrupted, at).toMatchObject({ what: 'stop', done: k, uncertain: 0, total: n });
      expect((await xb('status')).stdout, at).toContain(`interrupted: stop by pid ${s.interrupted.pid} at ${s.interrupted.started} was interrupted after ${k} of ${n} steps; run "xenbridge stop" to finish it`);
      if (t % 2 === 1) {
        const rb = await xb('rollback');
        expect([rb.code, rb.stderr], at).toEqual([0, '']);
      }
      const r = await xb('stop');
      expect([r.code, r.stderr], at).toEqual([0, '']);
      expect(await dump(sb.dom0), at).toBe(before);
      expect(leftovers(), at).toEqual([]);
      expect((await xb('stop')).stdout, at).toBe('nothing to undo');
    }
  });

  it('killed with its ip batch (whether each line ran is unknown): the next stop still restores exactly, the NIC included', async () => {
    const n = await stopLines();
    await applied();
    expect((await killedAt(n - 1, 'stop')).code).toBe(-1);
    // What a hard kill of ip itself leaves: the shell recorded its pid, never an exit status.
    const batch = readdirSync(scopeDir(sb)).find((f) => f.endsWith('.rc'));
    expect(batch).toBeDefined();
    await sh(`rm ${scopeDir(sb)}/${batch} && echo 999999 > ${scopeDir(sb)}/${batch?.replace(/\.rc$/, '.pid')}`);
    expect((await status()).interrupted).toMatchObject({ what: 'stop', uncertain: expect.any(Number) });
    const r = await xb('stop');
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(await dump(sb.dom0)).toBe(before);
  });
});

describe('a failure injected at every line of stop', () => {
  it('stop reports it and keeps the line; the next stop runs it and restores exactly', async () => {
    const n = await stopLines();
    for (let k = 0; k < n; k++) {
      await applied();
      const r = await failedAt(k, 'stop');
      expect([r.code, r.stderr.split('\n')[0]], `line ${k}`).toEqual([1, expect.stringMatching(/^xenbridge: stop undid \d+ change\(s\) with errors$/)]);
      expect((await status()).interrupted, `line ${k}`).toMatchObject({ what: 'stop', done: 0, total: 1 });
      const again = await xb('stop');
      expect([again.code, again.stderr], `line ${k}`).toEqual([0, '']);
      expect(await dump(sb.dom0), `line ${k}`).toBe(before);
    }
  });
});
