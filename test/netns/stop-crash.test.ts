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
      // Line n would be past the last line: the failpoint fires only before a line that runs.
      const k = pick(n);
      const how = t % 2 === 0 ? 'stop again' : 'rollback, then stop';
      const at = `trial ${t}, killed before line ${k} of ${n}, ${how}`;
      await applied();
      expect((await killedAt(k, 'stop')).code, at).toBe(-1);
      expect((await status()).interrupted, at).toMatchObject({ what: 'stop', done: k, uncertain: 0, total: n });
      if (t % 2 === 1) {
        const rb = await xb('rollback');
        expect([rb.code, rb.stderr], at).toEqual([0, '']);
      }
      const r = await xb('stop');
      expect([r.code, r.stderr], at).toEqual([0, '']);
      expect(await dump(sb.dom0), at).toBe(before);
      expect(leftovers(), at).toEqual([]);
    }
    expect((await xb('stop')).stdout).toBe('nothing to undo');
  }, 900_000);

  it('status names an interrupted stop and how to finish it', async () => {
    await applied();
    expect((await killedAt(3, 'stop')).code).toBe(-1);
    const s = await xb('status');
    expect([s.code, s.stdout.split('\n').pop()]).toEqual([1, expect.stringMatching(/^interrupted: stop by pid \d+ at \S+ was interrupted after 3 of \d+ steps; run "xenbridge stop" to finish it$/)]);
    expect((await xb('stop')).code).toBe(0);
    expect(await dump(sb.dom0)).toBe(before);
  }, 120_000);

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
  }, 120_000);
});

/**
 * Undo lines are never run twice: after a run with a failed line, a second run has nothing left to
 * do and changes nothing. A failed line leaves its change in place, so each trial has a fresh sandbox.
 */
describe('a failure injected at every line of stop and of rollback', () => {
  /** Trials 0..n-1, three at a time: each has its own sandbox. */
  const each = async (n: number, trial: (k: number) => Promise<void>): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let k = next++; k < n; k = next++) await trial(k);
    };
    await Promise.all([worker(), worker(), worker()]);
  };
  const fresh = async () => {
    const made = await sandboxWithTopology(EVERY_KIND_OF_STEP);
    const run = (env: Record<string, string>, ...args: string[]) => cli([...args, '--netns', made.sb.dom0], { ...made.sb.env, ...env });
    return { ...made, run };
  };
  const noReplay = async (k: number, command: string, message: RegExp, prepare: (f: Awaited<ReturnType<typeof fresh>>) => Promise<void>): Promise<void> => {
    const f = await fresh();
    try {
      await prepare(f);
      const r = await f.run({ XENBRIDGE_FAILPOINT: String(k) }, command);
      expect([r.code, r.stderr.split('\n')[0]], `line ${k}: ${r.stderr}`).toEqual([1, expect.stringMatching(message)]);
      expect(r.stderr, `line ${k}`).toContain('Cannot find device "xb-failpoint"');
      const after = await dump(f.sb.dom0, { unsettledOk: true });
      expect((await f.run({}, 'status')).code, `line ${k}`).toBe(0);
      expect((await f.run({}, command)).stdout, `line ${k}`).toMatch(/^nothing to (undo|roll back)$/);
      expect(await dump(f.sb.dom0, { unsettledOk: true }), `line ${k}`).toBe(after);
    } finally {
      await f.sb.cleanup();
    }
  };

  it('stop: one error, the other lines run, and a second stop has nothing to undo', async () => {
    const n = await stopLines();
    await each(n, (k) => noReplay(k, 'stop', /^xenbridge: stop undid \d+ change\(s\) with errors$/, async (f) => {
        expect((await f.run({}, 'apply', '-c', f.cfg)).code).toBe(0);
      }));
  }, 900_000);

  it('rollback of an interrupted apply: one error, the other lines run, and a second rollback has nothing to do', async () => {
    const n = JSON.parse((await xb('plan', '-c', cfg, '--format', 'json')).stdout).changes as number;
    await each(n - 1, (k) => noReplay(k, 'rollback', /^xenbridge: rollback undid \d+ step\(s\) with errors$/, async (f) => {
        expect((await f.run({ XENBRIDGE_FAILPOINT: `kill:${n - 1}` }, 'apply', '-c', f.cfg)).code).toBe(-1);
      }));
  }, 900_000);
});
