import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dump, sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { scopeDir } from '../helpers/pending.js';
import { cli, sh } from '../helpers/sh.js';
import { EVERY_KIND_OF_STEP } from '../helpers/topologies.js';

// Every kind of step, so a random k lands anywhere.
const TOPO = EVERY_KIND_OF_STEP;
const SECOND = `${TOPO}  - name: xenbr2
    dom0:
      ifname: int2
`;

let sb: Sandbox;
let cfg: string;
let n: number;
beforeEach(async () => {
  ({ sb, cfg } = await sandboxWithTopology(TOPO));
  n = JSON.parse((await cli(['plan', '-c', cfg, '--netns', sb.dom0, '--format', 'json'], sb.env)).stdout).changes;
});
afterEach(async () => sb.cleanup());

const xb = (...args: string[]) => cli([...args, '--netns', sb.dom0], sb.env);
const crashAt = (k: number) => cli(['apply', '-c', cfg, '--netns', sb.dom0], { ...sb.env, XENBRIDGE_FAILPOINT: `kill:${k}` });
/** Three distinct steps, chosen afresh each run (named in every assertion message). */
const randomSteps = (): number[] => {
  const ks = new Set<number>();
  while (ks.size < 3) ks.add(Math.floor(Math.random() * n));
  return [...ks];
};
/** Names, kinds, masters, states, addresses and routes: what two applies of one file must agree on (ifindexes and veth MACs differ). */
const shape = async (ns: string): Promise<unknown> => {
  await dump(ns);
  const links = JSON.parse(await sh(`ip -n ${ns} -j -d addr show`)) as { ifname: string; master?: string; operstate: string; mtu: number; linkinfo?: { info_kind?: string }; addr_info: { local: string; prefixlen: number; scope: string }[] }[];
  return {
    links: links.map((l) => ({ name: l.ifname, kind: l.linkinfo?.info_kind, master: l.master, state: l.operstate, mtu: l.mtu, addrs: l.addr_info.filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`) })).sort((a, b) => a.name.localeCompare(b.name)),
    routes: (await sh(`ip -n ${ns} route show table all type unicast`)).split('\n').filter((l) => !l.startsWith('fe80::')).sort(),
  };
};
const leftovers = (): string[] => readdirSync(scopeDir(sb)).filter((f) => f !== 'lock' && f !== 'history.json');

describe('apply killed -9 halfway', () => {
  it('status reports the interrupted run and rollback restores the namespace exactly', async () => {
    const before = await dump(sb.dom0);
    for (const k of randomSteps()) {
      const r = await crashAt(k);
      expect(r.code, `k=${k}: killed by a signal, no exit code`).toBe(-1);
      const s = await xb('status');
      expect(s.code, `k=${k}`).toBe(1);
      expect(s.stdout, `k=${k}`).toMatch(new RegExp(`^nothing applied\\ninterrupted: apply by pid \\d+ at \\S+ was interrupted after ${k} of ${n} steps; run "xenbridge rollback" or "xenbridge apply"$`));
      expect(JSON.parse((await xb('status', '--json')).stdout).interrupted).toMatchObject({ what: 'apply', done: k, uncertain: 0, total: n });
      const rb = await xb('rollback');
      expect([rb.code, rb.stdout], `k=${k}: ${rb.stderr}`).toEqual([0, expect.stringMatching(new RegExp(`^rolled back the interrupted apply of pid \\d+: ${k} step\\(s\\) had run$`))]);
      expect(await dump(sb.dom0), `k=${k}: restored`).toBe(before);
      expect(leftovers(), `k=${k}: no journal or batch record left`).toEqual([]);
      expect((await xb('status')).code).toBe(0);
    }
  });

  it('a fresh apply after the crash undoes it and ends where an uninterrupted apply does; stop still restores exactly', async () => {
    const before = await dump(sb.dom0);
    expect((await xb('apply', '-c', cfg)).code).toBe(0);
    const clean = await shape(sb.dom0);
    expect((await xb('stop')).code).toBe(0);
    // Every k, the last one included: killed after the default route left the NIC and before it
    // reached dom0's eth0, the host must not end up without it.
    for (const k of [n - 1, ...randomSteps()]) {
      expect((await crashAt(k)).code, `k=${k}`).toBe(-1);
      const r = await xb('apply', '-c', cfg);
      expect(r.code, `k=${k}: ${r.stderr}`).toBe(0);
      expect(r.stderr, `k=${k}`).toMatch(new RegExp(`^xenbridge: an earlier apply by pid \\d+ at \\S+ was interrupted after ${k} of ${n} steps; what it did was undone and the file is applied afresh$`));
      expect(r.stdout, `k=${k}`).toMatch(new RegExp(`^applied ${n} change\\(s\\) `));
      expect(await shape(sb.dom0), `k=${k}`).toEqual(clean);
      expect((await xb('verify', '-c', cfg)).code, `k=${k}`).toBe(0);
      const stop = await xb('stop');
      expect([stop.code, stop.stderr], `k=${k}`).toEqual([0, '']);
      expect(await dump(sb.dom0), `k=${k}`).toBe(before);
    }
  });

  it('a run whose ip batch was killed with it leaves the in-flight steps uncertain; rollback still restores', async () => {
    const before = await dump(sb.dom0);
    // What a hard kill of ip itself leaves: the shell recorded its pid, never an exit status.
    const k = 4;
    expect((await crashAt(k)).code).toBe(-1);
    const dir = scopeDir(sb);
    const batch = JSON.parse(readFileSync(join(dir, 'journal.json'), 'utf8')).batch;
    expect(batch).toMatch(/\/batch-[0-9a-f]{12}-0$/);
    await sh(`rm ${batch}.rc && echo 999999 > ${batch}.pid`);
    const s = JSON.parse((await xb('status', '--json')).stdout).interrupted;
    expect(s).toMatchObject({ done: 0, uncertain: n });
    expect((await xb('status')).stdout).toContain(`was interrupted after 0 of ${n} steps (${n} more may have run)`);
    const rb = await xb('rollback');
    expect(rb.code, rb.stderr).toBe(0);
    // Steps 4.. never ran: their undo fails harmlessly, and the delete of the veth that would have
    // taken the NIC's name is dropped because the NIC was never renamed.
    expect(await dump(sb.dom0)).toBe(before);
    expect(existsSync(join(dir, 'journal.json'))).toBe(false);
  });
});

describe('stop', () => {
  it('after two different applies restores the network as it was before the first; a second stop is a no-op', async () => {
    const before = await dump(sb.dom0);
    expect((await xb('apply', '-c', cfg)).code).toBe(0);
    writeFileSync(cfg, SECOND);
    expect((await xb('apply', '-c', cfg)).stdout).toMatch(/^applied \d+ change\(s\)/);
    const stop = await xb('stop');
    expect([stop.code, stop.stderr]).toEqual([0, '']);
    expect(await dump(sb.dom0)).toBe(before);
    expect(await sh(`ip -n ${sb.dom0} -br link | wc -l`)).toBe('2');
    expect((await xb('stop')).stdout).toBe('nothing to undo');
  });

  it('with a change waiting for confirm undoes it too, and its timer then has nothing to do', async () => {
    const before = await dump(sb.dom0);
    expect((await xb('apply', '-c', cfg)).code).toBe(0);
    writeFileSync(cfg, SECOND);
    expect((await xb('try', '30', '-c', cfg)).code).toBe(0);
    const stop = await xb('stop');
    expect([stop.code, stop.stderr]).toEqual([0, '']);
    expect(await dump(sb.dom0)).toBe(before);
    expect(JSON.parse((await xb('status', '--json')).stdout)).toEqual({ applied: 0 });
  });
});
