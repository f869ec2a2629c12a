// A failure injected at every step of the classic VLAN apply restores dom0 exactly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyTopology, planTopology } from '../../src/apply/apply.js';
import { parseTopology } from '../../src/config/validate.js';
import { isXbError } from '../../src/errors.js';
import { labTopology } from '../../src/lab/example.js';
import { makeLabBed, type LabBed } from '../helpers/lab-bed.js';

let bed: LabBed;
beforeAll(async () => {
  bed = await makeLabBed();
});
afterAll(async () => bed.cleanup());

describe('fault at every step of the classic VLAN apply', () => {
  it('rolls back to exactly the state before, whichever step fails', async () => {
    const t = parseTopology(labTopology('classic'));
    const n = (await planTopology(t, bed.ctx)).steps.length;
    expect(n).toBeGreaterThan(20);
    const before = await bed.dump();
    for (let k = 0; k < n; k++) {
      const err = await applyTopology(t, bed.with({ failpoint: { kill: false, at: k } })).then(() => undefined, (e: unknown) => e);
      expect(isXbError(err) && err.kind, `step ${k}`).toBe('rolled-back');
      expect(await bed.dump(), `after a failure at step ${k}`).toBe(before);
    }
    await applyTopology(t, bed.ctx);
    expect(await bed.ping(bed.dom0, '10.10.0.1')).toBe(true);
  });
});
