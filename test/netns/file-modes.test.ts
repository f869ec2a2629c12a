/** Files xenbridge creates have explicit modes whatever the umask: nothing group- or world-writable. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { CLI } from '../helpers/sh.js';
import { makeXenBed } from '../helpers/vif.js';

let sb: Sandbox;
let cfg: string;
beforeEach(async () => {
  ({ sb, cfg } = await sandboxWithTopology('version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n'));
});
afterEach(async () => sb.cleanup());

/** Runs the CLI under umask 000, as a careless service manager might. */
const underUmask0 = (args: string[], env: Record<string, string>) =>
  execa('sh', ['-c', 'umask 000; exec node "$@"', 'sh', CLI, ...args], { reject: false, env, extendEnv: false });

const modes = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true }).map((e) => {
    const p = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    return `${p.slice(dir.length + 1)} ${(statSync(p).mode & 0o777).toString(8)}`;
  });

it('an apply killed mid-batch leaves its journal and batch record (.lines .out .pid .rc) readable by root only', async () => {
  const r = await underUmask0(['apply', '-c', cfg, '--netns', sb.dom0], { ...sb.env, XENBRIDGE_FAILPOINT: 'kill:3' });
  expect(r.exitCode).not.toBe(0);
  const list = modes(sb.runDir).filter((l) => !l.startsWith('topology.yaml'));
  expect(list.some((l) => /\.out /.test(l)) && list.some((l) => /\.rc /.test(l)) && list.some((l) => /\.pid /.test(l)), list.join('\n')).toBe(true);
  for (const l of list) expect(l).toMatch(/ (600|700)$/);
});

it('the hotplug log is created 0640 under umask 000', async () => {
  const xen = makeXenBed(sb, cfg);
  expect((await underUmask0(['apply', '-c', cfg, '--netns', sb.dom0], sb.env)).exitCode).toBe(0);
  await xen.makeVif(1, 0);
  xen.setVif(1, 0, { bridge: 'xenbr0' });
  const env = { ...xen.env, XENBUS_PATH: 'backend/vif/1/0', vif: 'vif1.0' };
  const r = await underUmask0(['vif', 'online', 'type_if=vif'], env);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  expect((statSync(xen.env.XENBRIDGE_HOTPLUG_LOG!).mode & 0o777).toString(8)).toBe('640');
  await xen.cleanup();
});
