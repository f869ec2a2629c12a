/**
 * The vif hook's planning for a golden case (test/vif-cases/<name>): topology.yaml, event.yaml (the
 * event and its xenstore keys) and state.yaml (the links the hook's fast read would see, with only
 * the fields that matter; the rest defaults). Rendered as the hook runs it: the on-demand VLAN's own
 * run, then the port's (guard first), each step followed by the lines that undo it.
 */
import { render as renderOp } from '../../src/plan/render.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseTopology } from '../../src/config/validate.js';
import { isXbError } from '../../src/errors.js';
import type { Step } from '../../src/plan/steps.js';
import type { HostState, Link, VlanEntry } from '../../src/state/types.js';
import type { VifEvent } from '../../src/xen/hotplug-env.js';
import { guardOf, planGuard } from '../../src/xen/vif-guard.js';
import { mtuOf, targetOf } from '../../src/xen/vif-hook.js';
import { ownLink, vifnameFor } from '../../src/xen/vif-owner.js';
import { planOffline, planOnDemandCleanup, planOnline } from '../../src/xen/vif-plan.js';

type LinkFixture = Partial<Link> & { name: string };

export const linkOf = (l: LinkFixture, i: number): Link => ({
  ifindex: i + 2, kind: 'device', kindName: l.kind ?? 'device', up: true, noarp: false, operstate: l.up === false ? 'DOWN' : 'UP',
  carrier: true, mtu: 1500, mac: `52:54:00:00:00:${(i + 2).toString(16).padStart(2, '0')}`, peerElsewhere: false, addrs: [],
  ...l,
  ...(l.kind === 'bridge' ? { bridge: { stp: false, forwardDelay: 0, vlanFiltering: false, ...l.bridge } } : {}),
});

export const stateOf = (y: { kernel?: string; links: LinkFixture[]; vlans?: VlanEntry[] }): HostState =>
  ({ kernel: y.kernel ?? '6.12.0-1-amd64', links: y.links.map(linkOf), routes: [], vlans: y.vlans ?? [] });

/** nft's line holds a whole transaction: one statement per line here, to be read. */
const lineOf = (l: { tool: string; line: string }, indent: string): string =>
  `${l.tool} ${l.tool === 'nft' ? l.line.split(/; (?=(?:add|delete|flush|insert|replace) )/).join(`;\n${indent}    `) : l.line}`;

const render = (title: string, steps: Step[]): string[] => steps.length === 0 ? [] : [
  `# ${title}`,
  ...steps.flatMap((s) => [lineOf(renderOp(s.op), ''), ...s.undo.map((u) => `    undo: ${lineOf(renderOp(u), '    undo:')}`)]),
];

export const vifCase = (dir: string): string => {
  const t = parseTopology(readFileSync(join(dir, 'topology.yaml'), 'utf8'), 'topology.yaml');
  const e = parse(readFileSync(join(dir, 'event.yaml'), 'utf8')) as { action: 'online' | 'offline'; dev: string; keys: Record<string, string> };
  const s = stateOf(parse(readFileSync(join(dir, 'state.yaml'), 'utf8')));
  const [, domid = '0', devid = '0'] = /^vif(\d+)\.(\d+)$/.exec(e.dev) ?? [];
  const ev: VifEvent = { action: e.action, typeIf: 'vif', dev: e.dev, xenbusPath: `backend/vif/${domid}/${devid}`, domid: Number(domid), devid: Number(devid) };
  // No guard records yet: the guard steps are planned as for a port that has none.
  const records = mkdtempSync(join(tmpdir(), 'xenbridge-vif-case-'));
  try {
    const target = targetOf(e.keys, t);
    const own = ownLink(ev, undefined, s);
    if (e.action === 'offline') {
      return [...render('the port', planOffline(own)), ...render('on-demand VLAN cleanup', planOnDemandCleanup(target, own ? [own.name] : [], s))].join('\n') + '\n';
    }
    const name = vifnameFor(ev, e.keys.vifname, t);
    const guard = guardOf(target, e.keys, name);
    const plan = planOnline({ dev: ev.dev, name, mtu: mtuOf(e.keys), target, own, guarded: guard !== undefined }, s);
    const port = [...plan.first, ...planGuard(records, name, guard), ...plan.setup];
    return [...render('on-demand VLAN', plan.onDemand), ...render(`the port (mtu ${plan.mtu ?? 'unchanged'})`, port)].join('\n') + '\n';
  } catch (err) {
    if (!isXbError(err)) throw err;
    return `error (${err.kind}): ${err.message}\n`;
  } finally {
    rmSync(records, { recursive: true, force: true });
  }
};
