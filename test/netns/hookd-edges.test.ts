/**
 * The hook service's edges: an event the spool cannot carry, a spool the hook must not believe,
 * and a stop asked for while the service starts. Each ends as the direct path would have it.
 */
import { execa, type ResultPromise } from 'execa';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../helpers/netns.js';
import { CLI, ROOT, sh } from '../helpers/sh.js';
import type { XenBed } from '../helpers/vif.js';
import { appliedBed, startService, viaHook, waitFor, type Service } from '../helpers/hookd.js';
import { gate, shimPath, type Shim } from '../helpers/shims.js';

const TOPO = 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    mtu: 1500\n';

let sb: Sandbox;
let xen: XenBed;
let svc: Service | undefined;
let shims: Shim[];
let procs: ResultPromise[];

beforeEach(async () => {
  ({ sb, xen } = await appliedBed(TOPO));
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
  it('an event the spool cannot carry (an argument with a newline, 100 arguments) ends as through the direct path: status error, usage hotplug-error', async () => {
    xen.setVif(1, 0, { bridge: 'xenbr0' });
    const cases = [['online', 'type_if=vif\n'], ['online', 'type_if=vif', ...Array.from({ length: 98 }, (_, i) => String(i + 1))]];
    const run = async (argv: string[]): Promise<unknown[]> => {
      for (const k of ['hotplug-status', 'hotplug-error']) rmSync(join(xen.store, 'backend/vif/1/0', k), { force: true });
      const r = await execa('/bin/sh', [join(ROOT, 'hooks/vif-xenbridge'), ...argv], {
        reject: false, stdin: 'ignore', env: { ...xen.env, XENBRIDGE_BIN: CLI, XENBUS_PATH: 'backend/vif/1/0', vif: 'vif1.0' },
      });
      return [r.exitCode, r.stderr, xen.read(1, 0, 'hotplug-status'), xen.read(1, 0, 'hotplug-error')];
    };
    svc = await startService(sb, xen);
    const served = [];
    for (const c of cases) served.push(await run(c));
    expect(await svc.stop()).toBe(0);
    const direct = [];
    for (const c of cases) direct.push(await run(c));
    expect(direct.map((d) => d.slice(2))).toEqual([['error', expect.stringMatching(/^usage error: /)], ['error', expect.stringMatching(/^usage error: /)]]);
    expect(served).toEqual(direct);
  }, 30_000);

  it('a spool another user owns is not believed: the hook goes direct, which refuses that run directory', async () => {
    const evil = mkdtempSync(join(sb.runDir, 'evil-'));
    const scope = join(evil, `netns-${sb.dom0}`);
    const spool = join(scope, 'hookd');
    mkdirSync(spool, { recursive: true });
    for (const d of [evil, scope, spool]) chownSync(d, 65534, 65534);
    await sh(`mkfifo -m 622 ${spool}/fifo`);
    // A live pid and a "service" that answers every event with success, doing nothing.
    const live = execa('sleep', ['60'], { reject: false });
    const stat = readFileSync(`/proc/${live.pid}/stat`, 'utf8');
    writeFileSync(join(spool, 'pid'), `${live.pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}\n`);
    const fake = execa('sh', ['-c', 'read -r id < "$1/fifo" && printf "0 faked\\n" > "$1/$id.reply"', 'sh', spool], { reject: false });
    procs.push(live, fake);
    await xen.makeVif(1, 0);
    xen.setVif(1, 0, { bridge: 'xenbr0' });
    const r = await viaHook(xen, 'online', 1, 0, { XENBRIDGE_RUN_DIR: evil });
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([1, `xenbridge: xenbridge's run directory ${evil} is not a directory only this user can write: its files are not trusted`]);
    expect(readdirSync(spool).sort()).toEqual(['fifo', 'pid']);
    expect(xen.read(1, 0, 'hotplug-status')).toBeUndefined();
  }, 30_000);

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
