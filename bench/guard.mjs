// vif guards: the hook's online/offline time with guards vs without (same namespace, alternating,
// medians), whether the online time grows with the number of vifs already guarded, and forwarding
// throughput between two guests (iperf3, namespaces on this machine) with the guard chains vs without.
import { freshRunDir } from './env.mjs';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sh = (args, env) => execFileSync(args[0], args.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const mac = (d) => `00:16:3e:00:${(d >> 8).toString(16).padStart(2, '0')}:${(d & 255).toString(16).padStart(2, '0')}`;

const bed = (name, topo) => {
  const dir = freshRunDir('guardbench');
  const ns = `xbgb${name}${process.pid}`;
  const cfg = join(dir, 'topology.yaml');
  writeFileSync(cfg, topo);
  sh(['ip', 'netns', 'add', ns]);
  sh(['ip', 'netns', 'exec', ns, 'node', join(ROOT, 'bin/xenbridge'), 'apply', '-c', cfg], { ...process.env, XENBRIDGE_RUN_DIR: dir });
  const env = (d) => ({
    PATH: `${join(ROOT, 'test/fixtures/xenstore')}:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, XENSTORE_DIR: join(dir, 'store'),
    XENBRIDGE_RUN_DIR: dir, XENBRIDGE_CONFIG: cfg, XENBRIDGE_HOTPLUG_LOG: join(dir, 'hotplug.log'),
    vif: `vif${d}.0`, XENBUS_PATH: `backend/vif/${d}/0`, XENBUS_TYPE: 'vif', XENBUS_BASE_PATH: 'backend', netdev: '',
  });
  /** Wall time, and CPU time of the hook and every process it ran (the shell's `times`): ms. */
  const hook = (d, action) => {
    const t = process.hrtime.bigint();
    const out = sh(['sh', '-c', '"$@" >/dev/null; times', 'sh', 'ip', 'netns', 'exec', ns, 'node', join(ROOT, 'bin/xenbridge'), 'vif', action, 'type_if=vif'], env(d));
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    const [user, sys] = [...(out.trim().split('\n')[1] ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => (Number(m[1]) * 60 + Number(m[2])) * 1000);
    return { ms, cpu: (user ?? 0) + (sys ?? 0) };
  };
  const vif = (d) => {
    const base = join(dir, 'store', `backend/vif/${d}/0`);
    mkdirSync(base, { recursive: true });
    writeFileSync(join(base, 'bridge'), 'xenbr0');
    writeFileSync(join(base, 'mac'), mac(d));
    writeFileSync(join(base, 'ip'), `10.9.${d >> 8}.${d & 255}`);
    sh(['ip', '-n', ns, 'link', 'add', 'name', `vif${d}.0`, 'type', 'veth', 'peer', 'name', `g${d}`, 'address', mac(d)]);
  };
  return { ns, hook, vif, done: () => { sh(['ip', 'netns', 'del', ns]); rmSync(dir, { recursive: true, force: true }); } };
};

const TOPO = 'version: 1\nbridges:\n  - name: xenbr0\n    dom0: {ifname: h0}\n';
const OFF = `${TOPO}    vif-antispoof: false\n    insecure-vif-all-tags: true\n`;

// 32 cycles: the guarded bed's 32nd offline retires the 32nd guard and so removes them all
// (xen/vif-guard.ts COLLECT_AT), so the mean is what an offline costs over time.
export const benchGuardHook = (n = 32) => {
  const on = bed('on', TOPO);
  const off = bed('off', OFF);
  try {
    const t = { on: [[], []], off: [[], []] };
    // A guest that stays attached, as on any host with guests: the measured vifs come and go beside it.
    for (const b of [on, off]) {
      b.vif(1000);
      b.hook(1000, 'online');
    }
    for (let i = 1; i <= n; i++) {
      for (const [k, b] of i % 2 === 1 ? [['on', on], ['off', off]] : [['off', off], ['on', on]]) {
        b.vif(i);
        t[k][0].push(b.hook(i, 'online'));
        t[k][1].push(b.hook(i, 'offline'));
      }
    }
    const m = (xs, k = 'ms') => median(xs.map((x) => x[k]));
    const mean = (xs) => xs.reduce((a, x) => a + x.ms, 0) / xs.length;
    return {
      n, onOnline: m(t.on[0]), onOffline: m(t.on[1]), offOnline: m(t.off[0]), offOffline: m(t.off[1]),
      meanOnOffline: mean(t.on[1]), meanOffOffline: mean(t.off[1]), collecting: t.on[1][n - 1].ms,
      cpu: { onOnline: m(t.on[0], 'cpu'), onOffline: m(t.on[1], 'cpu'), offOnline: m(t.off[0], 'cpu'), offOffline: m(t.off[1], 'cpu') },
    };
  } finally {
    on.done();
    off.done();
  }
};

/** Online time of the first and the last `sample` of `count` guarded vifs attached one after another. */
export const benchGuardGrowth = (count = 256, sample = 16) => {
  const b = bed('grow', TOPO);
  try {
    const times = [];
    for (let i = 1; i <= count; i++) {
      b.vif(i);
      times.push(b.hook(i, 'online').ms);
    }
    return { count, first: median(times.slice(0, sample)), last: median(times.slice(-sample)) };
  } finally {
    b.done();
  }
};

const iperf = (ns, server, seconds) => {
  const srv = spawn('ip', ['netns', 'exec', `${ns}g2`, 'iperf3', '-s', '-1', '-B', server], { stdio: 'ignore' });
  execFileSync('sleep', ['0.5']);
  try {
    const out = sh(['ip', 'netns', 'exec', `${ns}g1`, 'iperf3', '-c', server, '-t', String(seconds), '-J']);
    const end = JSON.parse(out).end;
    // CPU seconds (both iperf3 processes, with the softirq work billed to them) per GB moved: on a
    // loaded machine the rate follows the neighbours' load, the work a byte costs much less.
    const cpu = ((end.cpu_utilization_percent.host_total + end.cpu_utilization_percent.remote_total) / 100) * end.sum_received.seconds;
    return { gbps: end.sum_received.bits_per_second / 1e9, cpuPerGB: cpu / (end.sum_received.bytes / 1e9) };
  } finally {
    srv.kill();
  }
};

/**
 * Two guests on one bridge, iperf3 between them: each round measures both, guarded first in even
 * rounds and last in odd ones (a shared machine's load drifts); the ratio is the median of the rounds'.
 */
export const benchGuardThroughput = (rounds = 3, seconds = 3) => {
  const b = bed('tput', TOPO);
  try {
    for (const d of [1, 2]) {
      b.vif(d);
      sh(['ip', 'netns', 'add', `${b.ns}g${d}`]);
      sh(['ip', '-n', b.ns, 'link', 'set', `g${d}`, 'netns', `${b.ns}g${d}`]);
      sh(['ip', '-n', `${b.ns}g${d}`, 'addr', 'add', `10.9.0.${d}/24`, 'dev', `g${d}`]);
      sh(['ip', '-n', `${b.ns}g${d}`, 'link', 'set', `g${d}`, 'up']);
      b.hook(d, 'online');
    }
    const rules = sh(['ip', 'netns', 'exec', b.ns, 'nft', 'list', 'table', 'bridge', 'xenbridge']);
    const on = [];
    const off = [];
    const guarded = () => on.push(iperf(b.ns, '10.9.0.2', seconds));
    const bare = () => {
      sh(['ip', 'netns', 'exec', b.ns, 'nft', 'delete', 'table', 'bridge', 'xenbridge']);
      off.push(iperf(b.ns, '10.9.0.2', seconds));
      execFileSync('ip', ['netns', 'exec', b.ns, 'nft', '-f', '-'], { input: rules });
    };
    for (let r = 0; r < rounds; r++) for (const f of r % 2 === 0 ? [guarded, bare] : [bare, guarded]) f();
    const rate = (xs) => median(xs.map((x) => x.gbps));
    const ratio = median(on.map((x, i) => x.gbps / off[i].gbps));
    // Throughput the CPU allows, guarded vs not: the inverse of the work per byte.
    const capacity = median(on.map((x, i) => off[i].cpuPerGB / x.cpuPerGB));
    return { rounds, seconds, on: rate(on), off: rate(off), ratio, capacity, cpuOn: median(on.map((x) => x.cpuPerGB)), cpuOff: median(off.map((x) => x.cpuPerGB)) };
  } finally {
    for (const d of [1, 2]) sh(['ip', 'netns', 'del', `${b.ns}g${d}`]);
    b.done();
  }
};

export const printGuard = (h, g, tp) => {
  console.log(`vif hook with guards vs without (median of ${h.n}): online ${h.onOnline.toFixed(0)} vs ${h.offOnline.toFixed(0)} ms (x${(h.onOnline / h.offOnline).toFixed(2)}), offline ${h.onOffline.toFixed(0)} vs ${h.offOffline.toFixed(0)} ms (x${(h.onOffline / h.offOffline).toFixed(2)})`);
  console.log(`  offline over ${h.n} cycles, the guards' removal included (the offline that retired the 32nd guard removed them all: ${h.collecting.toFixed(0)} ms): mean ${h.meanOnOffline.toFixed(0)} vs ${h.meanOffOffline.toFixed(0)} ms (x${(h.meanOnOffline / h.meanOffOffline).toFixed(2)})`);
  const c = h.cpu;
  console.log(`  CPU time of the hook and its processes: online ${c.onOnline.toFixed(0)} vs ${c.offOnline.toFixed(0)} ms (x${(c.onOnline / c.offOnline).toFixed(2)}), offline ${c.onOffline.toFixed(0)} vs ${c.offOffline.toFixed(0)} ms (x${(c.onOffline / c.offOffline).toFixed(2)})`);
  console.log(`guarded online with ${g.count} vifs: first vifs ${g.first.toFixed(0)} ms, last ${g.last.toFixed(0)} ms (x${(g.last / g.first).toFixed(2)})`);
  console.log(`forwarding between two guests (iperf3, median of ${tp.rounds} x ${tp.seconds} s): ${tp.on.toFixed(2)} Gbit/s guarded vs ${tp.off.toFixed(2)} without (x${(tp.on / tp.off).toFixed(3)}; median of the rounds' ratios x${tp.ratio.toFixed(3)}); CPU per GB ${tp.cpuOn.toFixed(3)} vs ${tp.cpuOff.toFixed(3)} s, throughput the CPU allows x${tp.capacity.toFixed(3)}`);
};

/** One guard's nft transaction (add, then remove) on a table already holding `existing` guards. */
export const benchGuardScale = async (existing = 256, n = 21) => {
  const { guardCommands, unguardCommands } = await import('../dist/plan/guard.js');
  const g = (i) => ({ dev: `vif${i}.0`, vlans: { untagged: true, tagged: [] }, mac: mac(i), ips: [`10.9.${i >> 8}.${i & 255}`] });
  const ns = `xbgs${process.pid}`;
  sh(['ip', 'netns', 'add', ns]);
  try {
    const nft = (lines) => {
      const t = process.hrtime.bigint();
      execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: `${lines.join('; ')}\n` });
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    const round = () => {
      const add = [];
      const del = [];
      for (let i = 0; i < n; i++) {
        add.push(nft(guardCommands(g(9000))));
        del.push(nft(unguardCommands('vif9000.0')));
      }
      return [median(add), median(del)];
    };
    const empty = round();
    for (let i = 1; i <= existing; i += 32) nft(Array.from({ length: Math.min(32, existing - i + 1) }, (_, k) => guardCommands(g(i + k)).join('; ')));
    const full = round();
    return { existing, n, emptyAdd: empty[0], emptyDel: empty[1], fullAdd: full[0], fullDel: full[1] };
  } finally {
    sh(['ip', 'netns', 'del', ns]);
  }
};

export const printGuardScale = (s) =>
  console.log(`one guard's nft transaction with ${s.existing} guards already vs none (median of ${s.n}): add ${s.fullAdd.toFixed(1)} vs ${s.emptyAdd.toFixed(1)} ms (x${(s.fullAdd / s.emptyAdd).toFixed(2)}), remove ${s.fullDel.toFixed(1)} vs ${s.emptyDel.toFixed(1)} ms (x${(s.fullDel / s.emptyDel).toFixed(2)})`);

/**
 * Where a guard's nft run goes: an nft process that does nothing (start, libraries, no netlink), one
 * guard added as a process (`nft -f`, as the direct hook runs it) and removed (its deletes make the
 * socket's close wait for an RCU grace period), and both through the runner's resident `nft -i`.
 */
export const benchNftCost = async (n = 21) => {
  const { guardCommands, unguardCommands } = await import('../dist/plan/guard.js');
  const { createRunner } = await import('../dist/exec/runner.js');
  const g = (i) => ({ dev: `vif${i}.0`, vlans: { untagged: true, tagged: [] }, mac: mac(i), ips: [`10.9.${i >> 8}.${i & 255}`] });
  const ns = `xbgc${process.pid}`;
  const dir = freshRunDir('nftcost');
  sh(['ip', 'netns', 'add', ns]);
  const runner = createRunner(ns, { residentNft: true });
  try {
    const proc = (text) => {
      const t = process.hrtime.bigint();
      execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: `${text}\n` });
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    const resident = async (text) => {
      const t = process.hrtime.bigint();
      const r = await runner.batch('nft', [text], { record: join(dir, 'batch-0') });
      if (!r.ok) throw new Error(r.stderr);
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    proc(guardCommands(g(1)).join('; '));
    const t = { empty: [], add: [], del: [], radd: [], rdel: [] };
    for (let i = 0; i < n; i++) {
      t.empty.push(proc('# nothing'));
      t.add.push(proc(guardCommands(g(100 + i), true).join('; ')));
      t.del.push(proc(unguardCommands(`vif${100 + i}.0`).join('; ')));
      t.radd.push(await resident(guardCommands(g(200 + i), true).join('; ')));
      t.rdel.push(await resident(unguardCommands(`vif${200 + i}.0`).join('; ')));
    }
    return { n, ...Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)])) };
  } finally {
    runner.close();
    sh(['ip', 'netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
};

export const printNftCost = (c) =>
  console.log(`a guard's nft run (median of ${c.n}): as a process ${c.add.toFixed(1)} ms to add (of which ${c.empty.toFixed(1)} ms an nft process that does nothing), ${c.del.toFixed(1)} ms to remove (its deletes wait for RCU at close); ` +
    `in the resident nft -i ${c.radd.toFixed(1)} ms to add, ${c.rdel.toFixed(1)} ms to remove (x${(c.radd / c.add).toFixed(2)}, x${(c.rdel / c.del).toFixed(2)})`);
