// Probe ports on this machine's kernel (untagged only): a hand-made network-bridge layout, no file
// and no apply, discovered and probed from a port standing in for a guest; and no probe port or
// namespace outliving a run, whether it ends, fails at any step or is killed at a random moment.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/netns.js';
import { CLI, cli, runs, sh } from '../helpers/sh.js';

let sb: Sandbox;

beforeAll(async () => {
  sb = await makeSandbox();
  // What network-bridge made: the NIC renamed and enslaved, dom0's address on the bridge itself. The
  // NIC's MAC is high, so that a probe port with any other than Xen's fe:ff:ff:ff:ff:ff would become
  // the bridge's MAC (a bridge without a fixed one takes its lowest port's) and break dom0's path.
  await sb.ip('-batch - <<EOF\naddr flush dev eth0\nlink set dev eth0 down\nlink set dev eth0 name peth0\nlink set dev peth0 address fe:ff:ff:ff:ff:fe\n'
    + 'link add name xenbr0 type bridge stp_state 0 forward_delay 0\nlink set dev peth0 master xenbr0\nlink set dev peth0 up\n'
    + 'link set dev xenbr0 up\naddr add 192.0.2.10/24 dev xenbr0\nroute add default via 192.0.2.1 dev xenbr0\nEOF');
});
afterAll(async () => sb.cleanup());

/** Probe ports in this sandbox's dom0, and private namespaces of runs that are no longer running (xbprobe-<pid><serial>). */
const leftovers = async (): Promise<string[]> => {
  const links = (await sb.ip('-o link show')).split('\n').flatMap((l) => /^\d+: (xbp[^:@]*)/.exec(l)?.[1] ?? []);
  const spaces = (await sh('ip netns list')).split('\n').map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith('xbprobe-') && !runs(Number(n.slice('xbprobe-'.length, -1))));
  return [...links, ...spaces];
};

const verify = (extra: string[] = [], env: Record<string, string> = {}) =>
  cli(['verify', '--traffic', '--discover', '--netns', sb.dom0, ...extra], { ...sb.env, ...env });

interface Json {
  ok: boolean;
  paths: { id: string; ok: boolean; guest: { port: string } | null; hops: { dev: string; role: string; request: { seen: number } }[] }[];
  findings: { rule: string }[];
  targets: { id: string; address: string; from: string }[];
}

describe('a hand-made network-bridge layout, no file', () => {
  it('--discover probes dom0 and a probe port standing in for a guest; both pass; nothing is left behind', async () => {
    await sb.inDom0('ping -c1 -W2 192.0.2.1');
    const r = await verify(['--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Json;
    expect(j.paths.map((p) => [p.id, p.ok])).toEqual([['untagged', true], ['guest on xenbr0, untagged', true]]);
    const guest = j.paths[1];
    expect(guest?.hops.map((h) => [h.role, h.request.seen > 0])).toEqual([['probe', true], ['uplink', true]]);
    expect(guest?.hops[1]?.dev).toBe('peth0');
    expect(j.targets).toEqual([{ id: 'guest on xenbr0, untagged', address: '192.0.2.1', answers: 'upstream', from: 'the route via 192.0.2.1 dev xenbr0' }]);
    expect(await leftovers()).toEqual([]);
    expect(existsSync(join(sb.runDir, `netns-${sb.dom0}`, 'journal.json'))).toBe(false);
  });

  it('a guest that cannot get out is found although dom0 can: its broadcast stops at the uplink', async () => {
    // The uplink floods no broadcasts from other ports; the bridge's own (dom0's) still go out.
    await sb.ip('link set dev peth0 type bridge_slave bcast_flood off');
    try {
      const r = await verify();
      expect(r.code, r.stdout).toBe(3);
      expect(r.stdout).toMatch(/FAIL guest on xenbr0, untagged: request vanishes at peth0 after xbp0-\w+\n/);
      expect(r.stdout).toMatch(/ok untagged: every hop saw its frames/);
    } finally {
      await sb.ip('link set dev peth0 type bridge_slave bcast_flood on');
    }
  });
});

describe('no probe port or namespace outlives a run', () => {
  it('a failure injected at every step is undone on the spot', async () => {
    // A failpoint fails the op at its index in the first run that has one. The probe ports' runs
    // have one step, then three: index 0 fails the first run's step (the second run's first step
    // shares that index), 1 and 2 the second run's, and past its last nothing fails. The paths are
    // then reported as not probed, and verify goes on.
    const hit: string[] = [];
    for (let k = 0; k < 4; k++) {
      const r = await verify([], { XENBRIDGE_FAILPOINT: String(k) });
      hit.push(/probe ports failed at step (\d+ of \d+); the host was restored/.exec(r.stdout)?.[1] ?? 'none');
      expect(await leftovers(), `failpoint ${k}: ${r.stdout}${r.stderr}`).toEqual([]);
    }
    expect(hit).toEqual(['1 of 1', '2 of 3', '3 of 3', 'none']);
  });

  it('killed -9 at any step: status names the interrupted run; rollback, or the next verify, removes what it made', async () => {
    for (let k = 0; k < 2; k++) {
      const r = await verify([], { XENBRIDGE_FAILPOINT: `kill:${k}` });
      expect(r.code, `kill:${k}: ${r.stdout}${r.stderr}`).toBe(-1);
      const status = await cli(['status', '--netns', sb.dom0], sb.env);
      const hostStatus = await cli(['status'], sb.env);
      expect(`${status.stdout}${hostStatus.stdout}`).toMatch(/interrupted: verify --traffic probe ports by pid \d+/);
      if (k % 2 === 0) {
        await cli(['rollback', '--netns', sb.dom0], sb.env);
        await cli(['rollback'], sb.env);
      } else {
        const again = await verify();
        expect(again.stdout).toMatch(/note: removed the probe ports of an earlier verify \(pid \d+\) that was interrupted/);
      }
      expect(await leftovers(), `kill:${k}`).toEqual([]);
    }
  });

  it('killed -9 at a random moment: the next verify cleans up first', async () => {
    for (let i = 0; i < 5; i++) {
      const child = execa('node', [CLI, 'verify', '--traffic', '--discover', '--netns', sb.dom0], { reject: false, env: sb.env, stdin: 'ignore' });
      await new Promise((res) => setTimeout(res, 300 + Math.random() * 3000));
      child.kill('SIGKILL');
      await child;
      const again = await verify();
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(await leftovers(), `run ${i}`).toEqual([]);
    }
  }, 240_000);
});
