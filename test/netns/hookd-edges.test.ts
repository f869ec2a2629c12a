/**
 * The hook service's edges: a stop asked for while the service starts.
 */
import { execa, type ResultPromise } from 'execa';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { CLI, cli } from '../helpers/sh.js';
import { makeXenBed, type XenBed } from '../helpers/vif.js';
import { waitFor, type Service } from '../helpers/hookd.js';
import { gate, shimPath, type Shim } from '../helpers/shims.js';

const TOPO = 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    mtu: 1500\n';

let sb: Sandbox;
let xen: XenBed;
let svc: Service | undefined;
let shims: Shim[];
let procs: ResultPromise[];

beforeEach(async () => {
  let cfg: string;
  ({ sb, cfg } = await sandboxWithTopology(TOPO));
  expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
  xen = makeXenBed(sb, cfg);
  svc = undefined;
  shims = [];
  procs = [];
});
afterEach(async () => {
  for (const s of shims) s.end();
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  await Promise.all(procs);
  if (svc && svc.proc.exitCode === null) await svc.stop();
  await xen.cleanup();
  await sb.cleanup();
});

describe('the hook service\'s edges', () => {
  it('a stop asked for while the service starts ends it once it serves', async () => {
    const g = gate(join(sb.runDir, 'shim'), 'mkfifo');
    shims.push(g);
    let out = '';
    const proc = execa(CLI, ['hookd'], { reject: false, stdin: 'ignore', all: true, env: { ...xen.env, PATH: shimPath(xen.env.PATH ?? '', g) } });
    procs.push(proc);
    proc.all?.on('data', (d: Buffer) => { out += d.toString(); });
    await waitFor('the service making its FIFO', () => g.reached());
    proc.kill('SIGTERM');
    g.open();
    await waitFor('the service stopped', () => proc.exitCode !== null);
    expect([proc.exitCode, out]).toEqual([0, expect.stringMatching(/hookd: stopped\n$/)]);
  }, 30_000);
});
