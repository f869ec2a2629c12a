// Apply speed on the host kernel, each figure measured in this run:
//   ours      = applyTopology() of N bridges, each with a dom0 veth pair (read, plan, one batch, verify re-read)
//   floor     = the same ops as one `ip -batch` (no read, no plan, no verify)
//   per-op    = the same ops as one `ip` process each (how shell scripts do it)
//   re-apply  = applyTopology() when nothing changed, vs one `ip -j -d link show`
//   cli       = `xenbridge apply` when nothing changed (bin/xenbridge as a program: from the startup
//               snapshot; and again without it), vs `node -e 0` plus one `ip -j -d link show`,
//               in wall time and in CPU time (user + system, its processes included: what a loaded
//               machine disturbs less than the wall time)
import { freshRunDir } from './env.mjs';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyTopology, createContext, parseTopology, planTopology, render } from '../dist/index.js';

const ns = (tag) => `xbbench${process.pid}${tag}`;
const sh = (args, input) => execFileSync(args[0], args.slice(1), { input, stdio: ['pipe', 'pipe', 'inherit'], maxBuffer: 1 << 30 }).toString();
const fresh = (tag) => { const n = ns(tag); sh(['ip', 'netns', 'add', n]); return n; };
const drop = (n) => sh(['ip', 'netns', 'del', n]);
const time = (fn) => { const t = process.hrtime.bigint(); const r = fn(); return [Number(process.hrtime.bigint() - t) / 1e6, r]; };
const timeAsync = async (fn) => { const t = process.hrtime.bigint(); await fn(); return Number(process.hrtime.bigint() - t) / 1e6; };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// CPU time of this process's waited-for children (with theirs), from /proc (fields cutime, cstime; USER_HZ 100).
const childCpuMs = () => readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ').slice(13, 15).reduce((a, x) => a + Number(x) * 10, 0);
const cpuOf = (fn) => { const c = childCpuMs(); fn(); return childCpuMs() - c; };

import { BIN, readySnapshot, withoutSnapshot } from './snapshot.mjs';
const yamlOf = (n) => `version: 1\nbridges:\n${Array.from({ length: n }, (_, i) =>
  `  - name: xb${i}\n    dom0: {ifname: h${i}, peer: xb${i}-p}\n`).join('')}`;

// Namespaces are deleted at the end: tearing down one with thousands of links holds the kernel's
// RTNL lock for seconds and would stall whatever is measured next. Every round applies into fresh
// namespaces, floor and ours in alternating order: each creation leaves the kernel busier (IPv6
// address configuration of the new links), which would otherwise always burden the second one.
export const benchApply = async (n, { perOp = true, rounds = n <= 100 ? 5 : 3 } = {}) => {
  const runDirRoot = freshRunDir('bench');
  const ctx = (ns) => createContext({ netns: ns, runDirRoot });
  const cfg = join(runDirRoot, 'topology.yaml');
  writeFileSync(cfg, yamlOf(n));
  const t = parseTopology(yamlOf(n));
  const made = [];
  const fresh1 = (tag) => { const x = fresh(`${tag}${made.length}`); made.push(x); return x; };
  try {
    const lines = (await planTopology(t, ctx(fresh1('p')))).steps.map((s) => render(s.op).line);
    const floor = [];
    const applied = [];
    let ours;
    for (let r = 0; r < rounds; r++) {
      const runFloor = () => floor.push(time(() => sh(['ip', '-n', fresh1('f'), '-batch', '-'], lines.join('\n') + '\n'))[0]);
      if (r % 2 === 0) runFloor();
      ours = fresh1('o');
      applied.push(await timeAsync(() => applyTopology(t, ctx(ours))));
      if (r % 2 === 1) runFloor();
    }
    const reapply = [];
    const reads = [];
    const cli = [];
    const plain = [];
    const nodes = [];
    const [readCpu, cliCpu, nodeCpu, plainCpu] = [[], [], [], []];
    const env = { ...process.env, XENBRIDGE_RUN_DIR: runDirRoot };
    await readySnapshot();
    for (let i = 0; i < 7; i++) {
      reapply.push(await timeAsync(() => applyTopology(t, ctx(ours))));
      let ms;
      readCpu.push(cpuOf(() => { [ms] = time(() => sh(['ip', '-n', ours, '-j', '-d', 'link', 'show'])); }));
      reads.push(ms);
      cliCpu.push(cpuOf(() => { [ms] = time(() => execFileSync(BIN, ['apply', '-c', cfg, '--netns', ours], { env, stdio: ['ignore', 'pipe', 'inherit'] })); }));
      cli.push(ms);
      plainCpu.push(cpuOf(() => { [ms] = time(() => execFileSync(BIN, ['apply', '-c', cfg, '--netns', ours], { env: withoutSnapshot(env), stdio: ['ignore', 'pipe', 'inherit'] })); }));
      plain.push(ms);
      nodeCpu.push(cpuOf(() => { [ms] = time(() => sh(['node', '-e', '0'])); }));
      nodes.push(ms);
    }
    let perOpMs;
    if (perOp) { const ns1 = fresh1('s'); [perOpMs] = time(() => { for (const l of lines) sh(['ip', '-n', ns1, ...l.split(' ')]); }); }
    return { n, ops: lines.length, rounds, oursMs: median(applied), floorMs: median(floor), perOpMs, reapplyMs: median(reapply), readMs: median(reads), cliMs: median(cli), plainMs: median(plain), nodeMs: median(nodes),
      cpu: { read: median(readCpu), cli: median(cliCpu), plain: median(plainCpu), node: median(nodeCpu) } };
  } finally {
    for (const x of made) drop(x);
    rmSync(runDirRoot, { recursive: true, force: true });
  }
};

export const printApply = (r) => {
  const f = (x) => `${x.toFixed(0)} ms`;
  console.log(`apply ${r.n} bridges + veth pairs (${r.ops} ops), median of ${r.rounds} rounds:`);
  console.log(`  ours ${f(r.oursMs)}  floor (one ip -batch) ${f(r.floorMs)}  -> ${(r.oursMs / r.floorMs).toFixed(2)}x the floor (target <= 1.2x)`);
  if (r.perOpMs !== undefined) console.log(`  one ip process per op ${f(r.perOpMs)}  -> ours is ${(r.perOpMs / r.oursMs).toFixed(1)}x faster`);
  console.log(`  no-change re-apply ${f(r.reapplyMs)}  one ip -j -d link show ${f(r.readMs)}  -> ${(r.reapplyMs / r.readMs).toFixed(2)}x (in-process)`);
  const floor = r.nodeMs + r.readMs;
  console.log(`  no-change xenbridge apply ${f(r.cliMs)}  node -e 0 + one read ${f(floor)}  -> ${(r.cliMs / floor).toFixed(2)}x (target <= 1.5x)`);
  const cpuFloor = r.cpu.node + r.cpu.read;
  console.log(`    in CPU time: ${f(r.cpu.cli)}  node -e 0 + one read ${f(cpuFloor)}  -> ${(r.cpu.cli / cpuFloor).toFixed(2)}x`);
  console.log(`    without the startup snapshot: ${f(r.plainMs)} -> ${(r.plainMs / floor).toFixed(2)}x; CPU ${f(r.cpu.plain)} -> ${(r.cpu.plain / cpuFloor).toFixed(2)}x`);
};
