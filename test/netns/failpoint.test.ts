import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dump, sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { cli } from '../helpers/sh.js';
import { EVERY_KIND_OF_STEP } from '../helpers/topologies.js';

const TOPO = EVERY_KIND_OF_STEP;

let sb: Sandbox;
let cfg: string;
beforeAll(async () => {
  ({ sb, cfg } = await sandboxWithTopology(TOPO));
});
afterAll(async () => sb.cleanup());

describe('a failure injected at every step of a real apply', () => {
  it('restores the namespace exactly, whichever step fails', async () => {
    const plan = await cli(['plan', '-c', cfg, '--netns', sb.dom0, '--format', 'json'], sb.env);
    expect(plan.code).toBe(0);
    const n = JSON.parse(plan.stdout).changes as number;
    expect(n).toBeGreaterThan(20);
    const before = await dump(sb.dom0);
    for (let k = 0; k < n; k++) {
      const r = await cli(['apply', '-c', cfg, '--netns', sb.dom0], { ...sb.env, XENBRIDGE_FAILPOINT: String(k) });
      expect.soft(r.stderr, `step ${k}`).toContain(`failed at step ${k + 1} of ${n}; the host was restored`);
      expect(r.code, `step ${k}: ${r.stderr}`).toBe(4);
      expect(await dump(sb.dom0), `state after a failure at step ${k}`).toBe(before);
    }
    const ok = await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env);
    expect(ok.code).toBe(0);
  });
});
