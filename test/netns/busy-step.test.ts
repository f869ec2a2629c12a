// A step the kernel refuses as busy (EBUSY) runs its alternative instead, and what ran is what the
// undo reverses. This kernel's veth changes its MAC live, so the refusal comes from another EBUSY:
// a device under a macvlan cannot join a bridge.
import { render } from '../../src/plan/render.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunner } from '../../src/exec/runner.js';
import * as op from '../../src/plan/steps.js';
import { execute, readJournal, undoJournaled } from '../../src/txn/execute.js';
import { sh } from '../helpers/sh.js';

let ns: string;
let dir: string;
beforeEach(async () => {
  ns = `xbbusy${process.pid}`;
  dir = mkdtempSync(join(tmpdir(), 'xenbridge-busy-'));
  await sh(`ip netns add ${ns} && ip -n ${ns} link add name la type veth peer name lb && ip -n ${ns} link add link la name mv0 type macvlan`);
});
afterEach(async () => {
  await sh(`ip netns del ${ns}`);
  rmSync(dir, { recursive: true, force: true });
});

const links = async (): Promise<string> => sh(`ip -n ${ns} -br link | sort`);

describe('a step refused as busy', () => {
  it('is replaced by its alternative; the run goes on and its undo reverses what ran', async () => {
    const before = await links();
    const runner = createRunner(ns);
    const enslave = { ...op.setMaster('la', 'br9', undefined), busy: [op.delLink('mv0'), op.setMaster('la', 'br9', undefined)] };
    // delLink has no undo; the test's alternative gets one so the undo can be compared.
    enslave.busy[0] = { ...enslave.busy[0]!, undo: [{ kind: 'line', tool: 'ip', line: 'link add link la name mv0 type macvlan' }] };
    const steps = [op.addBridge('br9', { stp: false, forwardDelay: 0, vlanFiltering: false }), enslave, op.setUp('br9', true)];
    const j = await execute(runner, dir, steps, 'apply');
    expect(j.steps.map((s) => render(s.op).line)).toEqual([render(steps[0]!.op).line, 'link del dev mv0', 'link set dev la master br9', 'link set dev br9 up']);
    expect(readJournal(dir)?.steps.map((s) => render(s.op).line)).toEqual(j.steps.map((s) => render(s.op).line));
    expect(await sh(`ip -n ${ns} -br link show master br9`)).toContain('la@lb');
    expect(await undoJournaled(runner, dir, j.steps, 'undo')).toEqual([]);
    expect((await links()).replace(/@\S+/g, '').replace(/\s+\S+:\S+\s+/g, ' ')).toBe(before.replace(/@\S+/g, '').replace(/\s+\S+:\S+\s+/g, ' '));
  });

  it('fails as any step does when it has no alternative, and the host is restored', async () => {
    const before = await links();
    const runner = createRunner(ns);
    const steps = [op.addBridge('br9', { stp: false, forwardDelay: 0, vlanFiltering: false }), op.setMaster('la', 'br9', undefined)];
    await expect(execute(runner, dir, steps, 'apply')).rejects.toThrow(/failed at step 2 of 2; the host was restored/);
    expect(await links()).toBe(before);
  });
});
