/**
 * VLAN test bed (inside the VM): the lab's switch, dom0 and guest namespaces with a unique prefix,
 * driven in-process through the library, because every fork costs a lot under emulation.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRunner, type Runner } from '../../src/exec/runner.js';
import { LAB_GUESTS, type LabGuest } from '../../src/lab/example.js';
import { buildSandbox, labNames, teardownSandbox, type LabNames } from '../../src/lab/sandbox.js';

let counter = 0;

export interface LabBed {
  names: LabNames;
  dom0: Runner;
  sw: Runner;
  guest(vif: string): Runner;
  ping(from: Runner, to: string): Promise<boolean>;
  /** `ip -j -d link show` + `ip -j addr show` + routes in one process, for exact comparisons. */
  dump(r?: Runner): Promise<string>;
  batch(r: Runner, lines: string[]): Promise<void>;
  cleanup(): Promise<void>;
}

export const makeLabBed = async (): Promise<LabBed> => {
  process.env.XENBRIDGE_RUN_DIR ??= mkdtempSync(join(tmpdir(), 'xenbridge-vlan-'));
  const names = labNames(`xv${process.pid % 10000}${counter++}`);
  const host = createRunner();
  await buildSandbox(host, names);
  const dom0 = createRunner(names.dom0);
  const guestOf = (vif: string): LabGuest => LAB_GUESTS.find((g) => g.vif === vif) ?? (() => { throw new Error(vif); })();
  const bed: LabBed = {
    names,
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
