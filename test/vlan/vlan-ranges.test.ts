// A VLAN-aware bridge with a 1000-VID trunk on the real kernel: the entries are read as ranges,
// a no-change re-apply plans nothing, and a one-VID change is one `bridge vlan` line each way
// (dropping a VID splits the kernel's range, adding it back joins it).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyTopology, planTopology } from '../../src/apply/apply.js';
import { parseTopology } from '../../src/config/validate.js';
import { createContext, type Context } from '../../src/context.js';
import { isXbError } from '../../src/errors.js';
import type { Runner, Tool } from '../../src/exec/runner.js';
import { render, toolOf } from '../../src/plan/render.js';
import { readState } from '../../src/state/read.js';
import { makeSandbox, type Sandbox } from '../helpers/netns.js';

let sb: Sandbox;
let dom0: Runner;
let ctx: Context;
beforeAll(async () => {
  sb = await makeSandbox();
  ctx = createContext({ netns: sb.dom0, runDirRoot: sb.runDir });
  dom0 = ctx.runner;
});
afterAll(async () => sb.cleanup());

const topology = (vifVlans: string): ReturnType<typeof parseTopology> =>
  parseTopology(`version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    mode: filtering\n    vlans:\n      - id: 10\n    vif-vlans: [${vifVlans}]\n`);

/** The trunk port's entries as the kernel keeps them, as "VID[-END][ flags]". */
const entries = async (dev: string): Promise<string[]> =>
  (await readState(dom0, { bridgeVlans: true })).vlans.filter((e) => e.dev === dev)
    .map((e) => `${e.vid}${e.vidEnd ? `-${e.vidEnd}` : ''}${e.pvid ? ' pvid' : ''}${e.untagged ? ' untagged' : ''}`);

it('1000 VIDs: applied as one range, re-applied as nothing, one VID changed as one line', async () => {
  const full = topology('"100-1099"');
  const first = await applyTopology(full, ctx);
  expect(first.plan.steps.filter((s) => toolOf(s.op) === 'bridge').map((s) => render(s.op).line)).toEqual([
    'vlan add dev peth0 vid 10', 'vlan add dev peth0 vid 100-1099', 'vlan add dev xenbr0-d0 vid 10', 'vlan add dev xenbr0-d0 vid 100-1099',
  ]);
  expect(await entries('peth0')).toEqual(['1 pvid untagged', '10', '100-1099']);
  // Read under one shell through files, the state is the one read apart through pipes.
  expect(await readState(dom0, { bridgeVlans: true, scratchDir: ctx.runDir })).toEqual(await readState(dom0, { bridgeVlans: true }));
  expect((await planTopology(full, ctx)).steps).toEqual([]);

  const hole = topology('"100-499", "501-1099"');
  const dropped = await applyTopology(hole, ctx);
  expect(dropped.plan.steps.map((s) => render(s.op).line)).toEqual(['vlan del dev peth0 vid 500', 'vlan del dev xenbr0-d0 vid 500']);
  expect(await entries('peth0')).toEqual(['1 pvid untagged', '10', '100-499', '501-1099']);
  expect((await planTopology(hole, ctx)).steps).toEqual([]);

  const back = await applyTopology(full, ctx);
  expect(back.plan.steps.map((s) => render(s.op).line)).toEqual(['vlan add dev peth0 vid 500', 'vlan add dev xenbr0-d0 vid 500']);
  expect(await entries('xenbr0-d0')).toEqual(['1 pvid untagged', '10', '100-1099']);
});

/** The context with a runner that runs every batch for real and keeps its tool and lines; `alter` may change them first. */
const watched = (alter: (tool: Tool, lines: string[]) => string[] = (_t, l) => l): { ctx: Context; runs: string[] } => {
  const runs: string[] = [];
  const runner: Runner = {
    ...dom0,
    batch: async (tool, lines, opts) => {
      const given = alter(tool, lines);
      runs.push(`${tool}: ${given.join('; ')}`);
      return dom0.batch(tool, given, opts);
    },
    run: async (cmd, args, opts) => {
      runs.push(`run: ${cmd} ${args.join(' ')}`);
      return dom0.run(cmd, args, opts);
    },
    reads: async (parts, dir) => {
      runs.push(`reads: ${parts.map((p) => ('tool' in p ? `${p.tool}: ${p.lines.join('; ')}` : 'sh')).join(' | ')}`);
      return dom0.reads(parts, dir);
    },
  };
  return { ctx: { ...ctx, runner }, runs };
};

it('one VID changed: the links, addresses and VLAN entries read under one shell, no guard read without a guard, and after the change only the VLAN entries', async () => {
  const w = watched();
  await applyTopology(topology('"100-499", "501-1099"'), w.ctx);
  expect(w.runs).toHaveLength(3);
  expect(w.runs[0]).toMatch(/^reads: ip: link show; .* \| sh \| bridge: vlan show$/);
  expect(w.runs.slice(1)).toEqual(['bridge: vlan del dev peth0 vid 500; vlan del dev xenbr0-d0 vid 500', 'bridge: vlan show']);
  await applyTopology(topology('"100-1099"'), ctx);
});

it('a VLAN-entry batch that lost a line is found by the check after it, and undone', async () => {
  // The kernel takes a line that changes nothing in place of the deletion: the run "succeeds".
  const w = watched((tool, lines) => (tool === 'bridge' ? lines.map((l) => (l === 'vlan del dev peth0 vid 500' ? 'vlan add dev peth0 vid 10' : l)) : lines));
  const err = await applyTopology(topology('"100-499", "501-1099"'), w.ctx).then(() => undefined, (e: unknown) => e);
  expect(isXbError(err) && err.kind).toBe('rolled-back');
  expect(isXbError(err) && err.detail).toContain('  bridge vlan del dev peth0 vid 500');
  expect(await entries('peth0')).toEqual(['1 pvid untagged', '10', '100-1099']);
  expect(await entries('xenbr0-d0')).toEqual(['1 pvid untagged', '10', '100-1099']);
});
