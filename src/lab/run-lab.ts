/**
 * `xenbridge lab`: build the example network in namespaces, apply the example topology to "dom0",
 * attach three guests through the vif hook's attach path, ping every path, report, tear down.
 */
import { rmSync } from 'node:fs';
import { applyTopology } from '../apply/apply.js';
import { parseTopology } from '../config/validate.js';
import { contextIn, type Context } from '../context.js';
import { createRunner, type Runner } from '../exec/runner.js';
import type { BridgeMode, Topology } from '../model/topology.js';
import { readState } from '../state/read.js';
import { showModel } from '../show/model.js';
import { renderTree } from '../show/render.js';
import { renderTraffic } from '../verify/traffic/report.js';
import { verifyTraffic } from '../verify/traffic/traffic.js';
import { attachVif } from '../xen/vif-hook.js';
import { LAB_CHECKS, LAB_GUESTS, labGuestMac, labTopology } from './example.js';
import { buildSandbox, labNames, teardownSandbox, type LabNames } from './sandbox.js';

export interface LabOptions {
  mode: BridgeMode;
  prefix: string;
  keep: boolean;
  print: (line: string) => void;
  tick: (ok: boolean) => string;
  /** The host's context: the lab's dom0 gets the same settings in its own namespace. */
  context: Context;
}

export interface LabResult {
  checks: { name: string; ok: boolean }[];
  names: LabNames;
  topology: Topology;
}

const ping = async (r: Runner, to: string): Promise<boolean> => {
  for (let i = 0; i < 3; i++) {
    if ((await r.run('ping', ['-c1', '-W2', '-q', to], { inNetns: true })).exitCode === 0) return true;
  }
  return false;
};

export const runLab = async (o: LabOptions): Promise<LabResult> => {
  const host = o.context.host;
  const n = labNames(o.prefix);
  const ctx = contextIn(o.context, n.dom0);
  const dom0 = ctx.runner;
  const topology = parseTopology(labTopology(o.mode), `<lab ${o.mode}>`);
  o.print(`xenbridge lab, ${o.mode} mode: namespaces ${n.sw} (switch), ${n.dom0} (dom0), ${LAB_GUESTS.map(n.guest).join(', ')} (guests)`);
  await buildSandbox(host, n);
  try {
    const applied = await applyTopology(topology, ctx);
    o.print(`applied ${applied.plan.steps.length} changes to ${n.dom0} (xenbridge apply --netns ${n.dom0})`);
    for (const g of LAB_GUESTS) {
      await attachVif(ctx, topology, g.vif, g.bridge, labGuestMac(g.vif));
      o.print(`attached ${g.vif} with bridge=${g.bridge}: ${g.role}`);
    }
    o.print('');
    o.print(renderTree(showModel(await readState(dom0, { bridgeVlans: true, kernel: ctx.kernel }))));
    const checks = await Promise.all(LAB_CHECKS.map(async (c) => {
      const from = c.from === 'dom0' ? dom0 : createRunner(n.guest(LAB_GUESTS.find((g) => g.vif === c.from)!), { env: ctx.env });
      return { name: c.name, ok: await ping(from, c.to) };
    }));
    const width = Math.max(...checks.map((c) => c.name.length)) + 2;
    o.print(`${'path'.padEnd(width)}ping`);
    for (const c of checks) o.print(`${c.name.padEnd(width)}${o.tick(c.ok)}`);
    const failed = checks.filter((c) => !c.ok).length;
    o.print(failed === 0 ? `every path answers (${checks.length} of ${checks.length})` : `${failed} of ${checks.length} paths do not answer`);
    o.print('');
    o.print(`verify --traffic (xenbridge verify --traffic --netns ${n.dom0}): a capture on every hop, probes from dom0, each guest's vif checked against its bridge=`);
    const traffic = await verifyTraffic(topology, ctx, { vifs: LAB_GUESTS.map((g) => ({ vif: g.vif, bridge: g.bridge })) });
    for (const line of renderTraffic(traffic, o.tick)) o.print(line);
    checks.push({ name: 'verify --traffic', ok: traffic.ok });
    return { checks, names: n, topology };
  } finally {
    if (o.keep) o.print(`kept: explore with ip netns exec ${n.dom0} …; xenbridge show --netns ${n.dom0}; remove with: xenbridge lab --clean --prefix ${o.prefix}`);
    else await cleanLab(o.context, n);
  }
};

export const cleanLab = async (ctx: Context, n: LabNames): Promise<void> => {
  await teardownSandbox(ctx.host, n);
  rmSync(contextIn(ctx, n.dom0).runDir, { recursive: true, force: true });
};
