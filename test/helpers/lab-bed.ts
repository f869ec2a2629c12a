/**
 * VLAN test bed (inside the VM): the lab's switch, dom0 and guest namespaces with a unique prefix,
 * driven in-process through the library, because every fork costs a lot under emulation.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contextIn, createContext, type Context, type ContextOptions } from '../../src/context.js';
import { createRunner, type Runner } from '../../src/exec/runner.js';
import { LAB_GUESTS, type LabGuest } from '../../src/lab/example.js';
import { buildSandbox, labNames, teardownSandbox, type LabNames } from '../../src/lab/sandbox.js';
import { ROOT } from './sh.js';

let counter = 0;

export interface LabBed {
  names: LabNames;
  /** The root of the run directories (the VM bed's XENBRIDGE_RUN_DIR, or a private one). */
  runDirRoot: string;
  /** dom0's context: what the library's entry points take. */
  ctx: Context;
  /** dom0's context with other settings (a failpoint, an environment for the fake xenstore). */
  with(o: Partial<ContextOptions>): Context;
  dom0: Runner;
  sw: Runner;
  guest(vif: string): Runner;
  ping(from: Runner, to: string): Promise<boolean>;
  /** `ip -j -d link show` + `ip -j addr show` + routes in one process, for exact comparisons. */
  dump(r?: Runner): Promise<string>;
  batch(r: Runner, lines: string[]): Promise<void>;
  cleanup(): Promise<void>;
}

let privateRoot: string | undefined;

export const makeLabBed = async (): Promise<LabBed> => {
  const runDirRoot = process.env.XENBRIDGE_RUN_DIR ?? (privateRoot ??= mkdtempSync(join(tmpdir(), 'xenbridge-vlan-')));
  const names = labNames(`xv${process.pid % 10000}${counter++}`);
  const host = createRunner();
  await buildSandbox(host, names);
  const ctx = createContext({ netns: names.dom0, runDirRoot });
  const dom0 = ctx.runner;
  const guestOf = (vif: string): LabGuest => LAB_GUESTS.find((g) => g.vif === vif) ?? (() => { throw new Error(vif); })();
  const bed: LabBed = {
    names,
    runDirRoot,
    ctx,
    with: (o) => contextIn(ctx, names.dom0, o),
    dom0,
    sw: createRunner(names.sw),
    guest: (vif) => createRunner(names.guest(guestOf(vif))),
    ping: async (from, to) => {
      for (let i = 0; i < 2; i++) if ((await from.run('ping', ['-c1', '-W2', '-q', to], { inNetns: true })).exitCode === 0) return true;
      return false;
    },
    dump: async (r = dom0) => {
      for (let i = 0; i < 30; i++) {
        const out = (await r.batch('ip', ['link show', 'addr show', 'route show table all'], { json: true, details: true })).stdout.replace(/"[a-z_]*_timer":[0-9.]+,?/g, '');
        // Settled: no DAD in progress and every up link has its carrier (linkwatch reports it late).
        if (!out.includes('"tentative"') && !out.includes('LOWERLAYERDOWN') && !/"flags":\["NO-CARRIER"[^\]]*"UP"/.test(out)) return out;
        await new Promise((res) => setTimeout(res, 200));
      }
      throw new Error('did not settle');
    },
    batch: async (r, lines) => {
      const res = await r.batch('ip', lines);
      if (!res.ok) throw new Error(`${lines[res.done]}: ${res.stderr}`);
    },
    cleanup: () => teardownSandbox(host, names),
  };
  return bed;
};

/** The environment under which xenstore-* are the file-backed fakes keeping their keys under store. */
export const fakeXenstoreEnv = (store: string): Record<string, string | undefined> =>
  ({ ...process.env, XENSTORE_DIR: store, PATH: `${join(ROOT, 'test/fixtures/xenstore')}:${process.env.PATH ?? ''}` });
