// The outage of a NIC takeover, measured on the host kernel in throwaway namespaces, both paths in
// one run:
//   down/up = the plan for a kernel that renames only links that are down (XENBRIDGE_KERNEL=6.1.0):
//             the NIC goes down for the rename and the MAC change, and up again
//   live    = the plan for this kernel: rename and MAC change while up, dom0's interface holds the
//             addresses and routes before the NIC gives them up
// Each figure: replies lost by a ping every 10 ms from the switch to dom0 (IPv4 and IPv6) across
// `apply`, and the TCP segments dom0 retransmitted on a connection that sends every 10 ms across it.
// bench/takeover-vm.sh also runs it in the VM bed (Debian 12's 6.1 kernel, whose own plan is the
// down/up path: the live plan's rename while up meets EBUSY there) and compares in the same run.
import { freshRunDir } from './env.mjs';
import { execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { applyTopology, createContext, parseTopology } from '../dist/index.js';

const sh = (args) => execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] }).toString();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TOPOLOGY = 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n';

// A client killed at the end resets its connection: not an error of the bench.
const SERVER = "require('net').createServer((s) => { s.on('error', () => {}); s.pipe(s); }).listen(7000, () => console.log('up'))";
// Prints the longest time without an echo when told to stop (SIGINT).
const CLIENT = "const s = require('net').connect(7000, process.argv[1]); s.setNoDelay(true); let last = 0, gap = 0;" +
  " s.on('data', () => { const t = Date.now(); if (last) gap = Math.max(gap, t - last); last = t; }); setInterval(() => s.write('x'), 10);" +
  " process.on('SIGINT', () => { console.log(gap); process.exit(0); })";

/** The first neighbour solicitation of a fresh namespace may go unanswered: try for a few seconds. */
const reach = async (ns, addr) => {
  for (let i = 0; ; i++) {
    try {
      sh(['ip', 'netns', 'exec', ns, 'ping', '-c1', '-W1', '-q', addr]);
      return;
    } catch (e) {
      if (i === 5) throw e;
      await sleep(200);
    }
  }
};

let seq = 0;
const sandbox = () => {
  const id = `${process.pid}t${seq++}`;
  const sw = `xbtsw${id}`;
  const d0 = `xbtd0${id}`;
  sh(['ip', 'netns', 'add', sw]);
  sh(['ip', 'netns', 'add', d0]);
  for (const ns of [sw, d0]) sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.dad_transmits=0', 'net.ipv6.conf.default.dad_transmits=0']);
  sh(['ip', '-n', sw, 'link', 'add', 'name', 'sw0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', d0]);
  const batch = (ns, lines) => execFileSync('ip', ['-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' });
  batch(sw, ['link set lo up', 'link set sw0 up', 'addr add 192.0.2.1/24 dev sw0', 'addr add 2001:db8::1/64 dev sw0']);
  batch(d0, ['link set lo up', 'addr add 192.0.2.10/24 dev eth0', 'addr add 2001:db8::10/64 dev eth0', 'link set eth0 up',
    'route add default via 192.0.2.1 dev eth0', 'route add ::/0 via 2001:db8::1 dev eth0']);
  return { sw, d0, drop: () => { sh(['ip', 'netns', 'del', sw]); sh(['ip', 'netns', 'del', d0]); } };
};

const tcp = (ns) => {
  const lines = sh(['ip', 'netns', 'exec', ns, 'cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Tcp:'));
  const [names = '', values = ''] = lines;
  const v = (k) => Number(values.split(/\s+/)[names.split(/\s+/).indexOf(k)]);
  return { out: v('OutSegs'), retrans: v('RetransSegs') };
};

const pinger = (ns, addr) => {
  const p = spawn('ip', ['netns', 'exec', ns, 'ping', '-n', '-i', '0.01', addr], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  const ended = new Promise((r) => p.on('close', r));
  return {
    stop: async () => {
      p.kill('SIGINT');
      await ended;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      return m ? { lost: Number(m[1]) - Number(m[2]), sent: Number(m[1]) } : { lost: NaN, sent: NaN };
    },
  };
};

const measure = async (kernel, runDirRoot) => {
  const s = sandbox();
  const server = spawn('ip', ['netns', 'exec', s.sw, process.execPath, '-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const client = [];
  try {
    await new Promise((r) => server.stdout.once('data', r));
    // Neighbours resolved and the connection open before the apply starts.
    for (const a of ['192.0.2.10', '2001:db8::10']) await reach(s.sw, a);
    const c = spawn('ip', ['netns', 'exec', s.d0, process.execPath, '-e', CLIENT, '192.0.2.1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    client.push(c);
    let gap = '';
    c.stdout.on('data', (d) => { gap += d; });
    const ended = new Promise((r) => c.on('close', r));
    await sleep(300);
    const before = tcp(s.d0);
    const p4 = pinger(s.sw, '192.0.2.10');
    const p6 = pinger(s.sw, '2001:db8::10');
    await sleep(300);
    const t0 = process.hrtime.bigint();
    await applyTopology(parseTopology(TOPOLOGY), createContext({ netns: s.d0, runDirRoot, kernel }));
    const applyMs = Number(process.hrtime.bigint() - t0) / 1e6;
    // Long enough for a retransmission after a one-second RTO to be counted.
    await sleep(1500);
    const after = tcp(s.d0);
    c.kill('SIGINT');
    await ended;
    const [r4, r6] = [await p4.stop(), await p6.stop()];
    // Sent as well: under emulation ping's 10 ms timer runs late, and fewer pings cover the outage.
    return { lost4: r4.lost, lost6: r6.lost, sent4: r4.sent, retrans: after.retrans - before.retrans, segs: after.out - before.out, stallMs: Number(gap), applyMs };
  } finally {
    for (const c of client) c.kill();
    server.kill();
    await sleep(50);
    s.drop();
  }
};

/** Each path: a name and the kernel release the plan assumes (undefined: the running kernel's). */
export const NATIVE_PATHS = [['down/up', '6.1.0'], ['live', undefined]];
const VM_PATHS = [['down/up', undefined]];
const JSON_MARK = 'takeover-json ';

export const benchTakeover = async ({ rounds = 3, vm = false } = {}) => {
  const paths = vm ? VM_PATHS : NATIVE_PATHS;
  const runDirRoot = freshRunDir('bench');
  const byPath = paths.map(([name]) => ({ name, rounds: [] }));
  try {
    for (let r = 0; r < rounds; r++) {
      for (const [i, [, kernel]] of paths.entries()) byPath[i].rounds.push(await measure(kernel, runDirRoot));
    }
  } finally {
    rmSync(runDirRoot, { recursive: true, force: true });
  }
  return { rounds, kernel: release(), paths: byPath };
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

export const printTakeover = (r) => {
  const row = (name, xs) => {
    const f = (k) => `${median(xs.map((x) => x[k]))} (${xs.map((x) => x[k]).join(',')})`;
    console.log(`  ${name.padEnd(21)} pings lost v4 ${f('lost4')}  v6 ${f('lost6')} of ${f('sent4')} sent  TCP retransmits ${f('retrans')} of ${f('segs')} segments, longest stall ${f('stallMs')} ms  apply ${median(xs.map((x) => x.applyMs)).toFixed(0)} ms`);
  };
  console.log(`takeover of eth0 on kernel ${r.kernel} with a 10 ms ping from the switch and a TCP session from dom0, median (each of ${r.rounds} rounds):`);
  for (const p of r.paths) row(p.name, p.rounds);
  // Pings lost over all rounds, v4 + v6, of each path against the first's (the kernel's fallback).
  const [base, ...others] = r.paths;
  const lost = (p) => sum(p.rounds.map((x) => x.lost4 + x.lost6));
  for (const p of others) {
    const ratio = lost(p) === 0 ? 'none lost' : `${(lost(base) / lost(p)).toFixed(1)}x`;
    console.log(`  pings lost in all rounds: ${base.name} ${lost(base)}, ${p.name} ${lost(p)} (${ratio})`);
  }
};

/** The same bench in the VM bed (test/vm/run.sh), on its kernel's own path. */
export const benchTakeoverInVm = async ({ rounds = 3 } = {}) => {
  const code = `const b = await import('./bench/takeover.mjs'); console.log('${JSON_MARK}' + JSON.stringify(await b.benchTakeover({ rounds: ${rounds}, vm: true })))`;
  const out = execFileSync('test/vm/run.sh', ['--', process.execPath, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] }).toString();
  const line = out.split('\n').find((l) => l.startsWith(JSON_MARK));
  if (!line) throw new Error(`the VM printed no result:\n${out}`);
  return JSON.parse(line.slice(JSON_MARK.length));
};

/** The VM's down/up outage against this machine's two paths, from one run. */
export const printTakeoverVm = (native, vm) => {
  const lost = (p) => sum(p.rounds.map((x) => x.lost4 + x.lost6)) / p.rounds.length;
  const [down, live] = native.paths;
  const v = vm.paths[0];
  const ms = (n) => `${(n * 5).toFixed(0)} ms`;
  console.log(`pings lost per round (v4 + v6, mean): VM ${v.name} ${lost(v).toFixed(1)} (≈ ${ms(lost(v))} each family), this machine ${down.name} ${lost(down).toFixed(1)}, ${live.name} ${lost(live).toFixed(1)}` +
    `; VM / this machine's ${down.name} = ${lost(down) === 0 ? 'n/a' : (lost(v) / lost(down)).toFixed(1)}`);
};

if (import.meta.url === `file://${process.argv[1]}`) printTakeover(await benchTakeover());
