// The outage of a NIC takeover, measured on the host kernel in throwaway namespaces, both paths in
// one run:
//   down/up = the plan for a kernel that renames only links that are down (XENBRIDGE_KERNEL=6.1.0):
//             the NIC goes down for the rename and the MAC change, and up again
//   live    = the plan for this kernel: rename and MAC change while up, dom0's interface holds the
//             addresses and routes before the NIC gives them up
// Each figure: replies lost by a ping every 10 ms from the switch to dom0 (IPv4 and IPv6) across
// `apply`, and the TCP segments dom0 retransmitted on a connection that sends every 10 ms across it.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyTopology, createContext, parseTopology } from '../dist/index.js';

const sh = (args) => execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] }).toString();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TOPOLOGY = 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n';

const SERVER = "require('net').createServer((s) => s.pipe(s)).listen(7000, () => console.log('up'))";
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
      return m ? Number(m[1]) - Number(m[2]) : NaN;
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
    return { lost4: await p4.stop(), lost6: await p6.stop(), retrans: after.retrans - before.retrans, segs: after.out - before.out, stallMs: Number(gap), applyMs };
  } finally {
    for (const c of client) c.kill();
    server.kill();
    await sleep(50);
    s.drop();
  }
};

export const benchTakeover = async ({ rounds = 3 } = {}) => {
  const runDirRoot = mkdtempSync(join(tmpdir(), 'xenbridge-bench-'));
  const downUp = [];
  const live = [];
  for (let r = 0; r < rounds; r++) {
    downUp.push(await measure('6.1.0', runDirRoot));
    live.push(await measure(undefined, runDirRoot));
  }
  return { rounds, downUp, live };
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export const printTakeover = (r) => {
  const row = (name, xs) => {
    const f = (k) => `${median(xs.map((x) => x[k]))} (${xs.map((x) => x[k]).join(',')})`;
    console.log(`  ${name.padEnd(8)} pings lost v4 ${f('lost4')}  v6 ${f('lost6')}  TCP retransmits ${f('retrans')} of ${f('segs')} segments, longest stall ${f('stallMs')} ms  apply ${median(xs.map((x) => x.applyMs)).toFixed(0)} ms`);
  };
  console.log(`takeover of eth0 with a 10 ms ping from the switch and a TCP session from dom0, median (each of ${r.rounds} rounds):`);
  row('down/up', r.downUp);
  row('live', r.live);
};

if (import.meta.url === `file://${process.argv[1]}`) printTakeover(await benchTakeover());
