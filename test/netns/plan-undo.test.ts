// Golden cases run for real: a namespace set up with the case's NICs gets the case's plan, then the
// plan's undo (what undo.txt renders for the captured state) returns it to exactly what it was.
import { release } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/validate.js';
import { createRunner } from '../../src/exec/runner.js';
import { makePlan } from '../../src/plan/diff.js';
import { undoText } from '../../src/plan/format.js';
import { readStateFor } from '../../src/state/read.js';
import { execute, undoJournaled } from '../../src/txn/execute.js';
import { addNic, dump, makeSandbox, type Sandbox } from '../helpers/netns.js';
import { ROOT } from '../helpers/sh.js';

let sb: Sandbox | undefined;
afterEach(async () => {
  await sb?.cleanup();
  sb = undefined;
});

/** The case's NICs by MAC: eth0 and a second NIC eth1, as in its current.json. */
const twoNics = async (s: Sandbox): Promise<void> => {
  // Down and up again, so that its link-local address is made from the new MAC (the down drops the route).
  await s.ip('link set dev eth0 down');
  await s.ip('link set dev eth0 address 52:54:00:12:34:56');
  await s.ip('link set dev eth0 up');
  await s.ip('route add default via 192.0.2.1 dev eth0');
  await addNic(s, 'eth1', { mac: '52:54:00:12:34:57' });
};

const CASES: [string, (s: Sandbox) => Promise<void>][] = [
  ['takeover-eth0', async () => undefined],
  ['mtu-raise', async () => undefined],
  ['names-swap', twoNics],
  ['names-takeover-by-mac', twoNics],
];

describe('a golden case applied, then undone', () => {
  it.each(CASES)('%s: the undo returns the namespace to its state before', async (name, setUp) => {
    sb = await makeSandbox();
    await setUp(sb);
    const t = parseTopology(readFileSync(join(ROOT, 'test/cases', name, 'topology.yaml'), 'utf8'), 'topology.yaml');
    const runner = createRunner(sb.dom0);
    const before = await dump(sb.dom0, { anyRouteOrder: true, waitCarrier: true });
    const plan = makePlan(t, await readStateFor(t, { runner, kernel: release(), runDir: sb.runDir }));
    expect(undoText(plan)).not.toBe('no changes\n');
    await execute(runner, sb.runDir, plan.steps, 'apply');
    expect(await dump(sb.dom0, { anyRouteOrder: true })).not.toBe(before);
    expect(await undoJournaled(runner, sb.runDir, plan.steps, 'undo')).toEqual([]);
    expect(await dump(sb.dom0, { anyRouteOrder: true, waitCarrier: true })).toBe(before);
  });
});
