/**
 * plan, apply, show, verify, stop, status, rollback. Each action imports what it uses when it runs:
 * start-up is most of a small command's time, and --help or status need none of the planner.
 */
import type { Command } from 'commander';
import { XbError } from '../errors.js';
import { cachedTopologyFor, contextFor, needRoot, oneOf, topologyFor, type CommonOpts } from './context.js';
import { netnsOption } from './netns-arg.js';
import { err, json, out, tick } from './output.js';
import { confirmHowTo, parseSeconds, pendingLines, timerLost } from './pending-text.js';
import { trafficOptions } from './traffic-verify-options.js';

export type Action = (opts: Record<string, unknown>) => Promise<number>;
export type Register = (name: string, describe: (c: Command) => Command, action: Action, opts?: { errorCode?: number }) => void;

export const common = (c: Command, config = true): Command =>
  (config ? c.option('-c, --config <file>', 'topology file (default $XENBRIDGE_CONFIG or /etc/xenbridge/topology.yaml)') : c)
    .option('--netns <name>', 'work inside this network namespace', netnsOption);

export const applyAction: Action = async (o) => {
  const { applyTopology, planTopology } = await import('../apply/apply.js');
  const { topology: t, save } = await cachedTopologyFor(o as CommonOpts);
  const ctx = contextFor(o as CommonOpts);
  if (o.dryRun) {
    const { planText } = await import('../plan/format.js');
    out(planText(await planTopology(t, ctx)));
    return 0;
  }
  needRoot('apply');
  const confirmSeconds = o.confirm === undefined ? undefined : parseSeconds(String(o.confirm), '--confirm');
  const r = await applyTopology(t, ctx, { confirmSeconds });
  for (const n of r.notes) err(`xenbridge: ${n}`);
  save();
  if (r.pending) out(confirmHowTo(r.pending, o.netns as string | undefined));
  else out(r.changed ? `applied ${r.plan.steps.length} change(s) from ${t.source}` : `no changes: the host already matches ${t.source}`);
  return 0;
};

export const registerCore = (reg: Register): void => {
  reg('plan', (c) => common(c.description('show what apply would change, as ordered kernel operations')).option('--format <fmt>', 'text | json | sh', 'text'), async (o) => {
    const fmt = oneOf(String(o.format), ['text', 'json', 'sh'] as const, '--format');
    const [{ planTopology }, { planJson, planSh, planText }] = await Promise.all([import('../apply/apply.js'), import('../plan/format.js')]);
    const t = await topologyFor(o as CommonOpts);
    const plan = await planTopology(t, contextFor(o as CommonOpts));
    if (fmt === 'json') json(planJson(plan));
    else out(fmt === 'sh' ? planSh(plan, o.netns as string | undefined) : planText(plan));
    return 0;
  });

  reg('apply', (c) => common(c.description('converge the host to the file, verify, roll back on failure')).option('--dry-run', 'print the plan, change nothing')
    .option('--confirm <seconds>', 'revert the change after SECONDS unless "xenbridge confirm" runs'), applyAction);

  reg('show', (c) => common(c.description('the live topology (with -c, NICs carry the stable names of its names: rules)')).option('--format <fmt>', 'tree | yaml | json', 'tree'), async (o) => {
    const fmt = oneOf(String(o.format), ['tree', 'yaml', 'json'] as const, '--format');
    const [{ readState }, { optionalTopology }, { readGuardChecks }, { renderGuards, showGuards }, { showModel }, { renderTopologyYaml, renderTree }, { stableNames }] = await Promise.all([
      import('../state/read.js'), import('./optional-topology.js'), import('../apply/guard-check.js'), import('../show/guards.js'),
      import('../show/model.js'), import('../show/render.js'), import('../names/match.js'),
    ]);
    const ctx = contextFor(o as CommonOpts);
    const state = await readState(ctx.runner, { bridgeVlans: true, kernel: ctx.kernel });
    const t = await optionalTopology(o as CommonOpts, (w) => err(`xenbridge: warning: ${w}`));
    const guards = showGuards(await readGuardChecks(ctx.runner, ctx.runDir, state));
    const shown = showModel(state, {}, t ? stableNames(t, state) : {});
    if (fmt === 'json') json({ ...shown, guards });
    else out(fmt === 'yaml' ? renderTopologyYaml(shown) : renderTree(shown) + renderGuards(guards));
    return 0;
  });

  reg('verify', (c) => trafficOptions(common(c.description('live state vs the file, plus known-bad layouts')).option('--json', 'machine-readable report')), async (o) => {
    if (o.traffic || o.listen !== undefined || o.vlan || o.vif || o.pcapDir || o.discover) return (await import('./traffic-verify.js')).runTrafficVerify(o);
    const { verifyTopology } = await import('../verify/state.js');
    const report = await verifyTopology(await topologyFor(o as CommonOpts), contextFor(o as CommonOpts));
    if (o.json) json(report);
    else {
      out(`${tick(report.differences.length === 0)} state matches the file${report.differences.length === 0 ? '' : `: ${report.differences.length} difference(s)`}`);
      for (const d of report.differences) out(`    ${d}`);
      for (const f of report.findings) out(`${tick(f.level !== 'error')} ${f.level}: ${f.message}\n    fix: ${f.fix}`);
    }
    return report.ok ? 0 : 3;
  });

  reg('stop', (c) => common(c.description('undo every change since the first apply'), false), async (o) => {
    needRoot('stop');
    const { stopNetwork } = await import('../apply/apply.js');
    const r = await stopNetwork(contextFor(o as CommonOpts));
    if (r.errors.length > 0) throw new XbError('rollback-failed', `stop undid ${r.undone} change(s) with errors`, { detail: r.errors });
    out(r.undone === 0 ? 'nothing to undo' : `undid ${r.undone} change(s); the network is as it was before the first apply`);
    return 0;
  });

  reg('status', (c) => common(c.description('what xenbridge has applied, a change waiting for confirm, any interrupted run'), false).option('--json', 'machine-readable'), async (o) => {
    if (process.getuid?.() !== 0) throw new XbError('usage', "status reads xenbridge's run directory, which only root can read: run it as root");
    const { readStatus } = await import('../apply/apply.js');
    const s = readStatus(contextFor(o as CommonOpts));
    if (o.json) json(s);
    else {
      out(s.applied === 0 ? 'nothing applied' : `${s.applied} change(s) applied since ${s.since}`);
      for (const l of pendingLines(s.pending)) out(l);
      const i = s.interrupted;
      if (i) out(`interrupted: ${i.message}; run ${i.what === 'stop' ? '"xenbridge stop" to finish it' : '"xenbridge rollback" or "xenbridge apply"'}`);
      if (s.running) out(`running: ${s.running.what} (pid ${s.running.pid}, since ${s.running.started}), ${s.running.done} of ${s.running.total} step(s) done`);
      for (const u of s.unreadable ?? []) out(`unreadable: ${u}`);
    }
    return s.interrupted || s.unreadable || timerLost(s.pending) ? 1 : 0;
  });

  reg('rollback', (c) => common(c.description('revert a change waiting for confirm, or undo an interrupted apply, now'), false), async (o) => {
    needRoot('rollback');
    const { rollbackNow } = await import('../apply/revert.js');
    const r = await rollbackNow(contextFor(o as CommonOpts));
    if (r.errors.length > 0) throw new XbError('rollback-failed', `rollback undid ${r.undone} step(s) with errors`, { detail: r.errors });
    if (r.pending) out(`reverted change ${r.pending.id} (${r.pending.steps.length} step(s))`);
    const i = r.interrupted;
    if (i) out(`rolled back the interrupted ${i.what} of pid ${i.pid}: ${i.undone} step(s) had run`);
    if (!r.pending && !i) out('nothing to roll back');
    return 0;
  });
};
