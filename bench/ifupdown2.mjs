// xenbridge vs ifupdown2 (Proxmox's engine, from Debian's package extracted into a private
// directory by bench/ifupdown2.sh) on the same layouts, each in fresh network namespaces:
//   first     = an apply / `ifreload -a` that builds the layout from the bare NIC
//   no-change = the same again (median of rounds, alternating)
//   one change = one VLAN (plain: one bridge) dropped, then added back (median of rounds of both)
// xenbridge is bin/xenbridge run as a program, as /usr/bin/xenbridge is: from the CLI's startup
// snapshot (made first); its no-change apply is also timed without it (XENBRIDGE_NO_SNAPSHOT=1).
// Every timed run, of either tool, starts after the same pause (SETTLE_MS, below).
// Both tools' kernel state is compared first (links, kinds, masters, VLAN IDs, filtering, the ports'
// VLAN entries); a layout where they differ is reported and not timed, and so is the one change
// when they differ after it.
// ifupdown2 reads /etc/network/interfaces and keeps its state under /run/network and
// /var/tmp/network: it runs in a private mount namespace with those bound to a scratch directory,
// so nothing of the machine's (or the VM's) own configuration is read or written.
//   node bench/ifupdown2.mjs ROOT [SCENARIO...]   ROOT: the extracted package
//   scenarios: plain-N (N bridges, any kernel), filtering-1000 and classic-200 (802.1Q: the VM bed)
import { freshRunDir, RUN_BASE_NOTE } from './env.mjs';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BIN, readySnapshot, withoutSnapshot } from './snapshot.mjs';
const sh = (args, input) => execFileSync(args[0], args.slice(1), { input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 30 }).toString();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const timed = (fn) => { const t = process.hrtime.bigint(); fn(); return Number(process.hrtime.bigint() - t) / 1e6; };
const range = (n, from = 0) => Array.from({ length: n }, (_, i) => i + from);
/**
 * A pause before every timed run, of either tool, so that neither is timed in the other's wake: the
 * VM bed stays busy for seconds after an `ifreload -a` of 200 classic VLANs. In two of three rounds
 * in one boot, xenbridge's no-change apply took 1.33-1.34 s right after one, against 0.78-0.82 s
 * before it and 0.88-0.98 s five seconds later; its one-VLAN change 1.71-1.91 s, against 1.07-1.32 s.
 */
const SETTLE_MS = 5000;
const settle = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SETTLE_MS);
const stanza = (name, ...attrs) => `auto ${name}\niface ${name}\n${attrs.map((a) => `    ${a}\n`).join('')}\n`;
const bridgeOpts = ['bridge-stp off', 'bridge-fd 0'];

/**
 * dom0's veth pair as ifupdown2 declares it: the port end makes the pair and brings dom0's end up
 * (a stanza of its own is not brought up: it does not exist yet when ifupdown2 reaches it, and
 * declaring the pair from both ends left some bridges without their port at 500 pairs).
 */
const vethPair = (port, dom0) => stanza(port, 'link-type veth', `veth-peer-name ${dom0}`, `up ip link set dev ${dom0} up`);

/** N plain bridges, each with a dom0 veth pair; one VID: the last bridge dropped and made again. */
const plain = (n) => ({
  uplink: false,
  ours: (hole) => `version: 1\nbridges:\n${range(hole ? n - 1 : n).map((i) => `  - name: xb${i}\n    dom0: {ifname: h${i}, peer: xb${i}-p}\n`).join('')}`,
  theirs: (hole) => range(hole ? n - 1 : n).map((i) => vethPair(`xb${i}-p`, `h${i}`) + stanza(`xb${i}`, `bridge-ports xb${i}-p`, ...bridgeOpts)).join(''),
});

const SCENARIOS = {
  'filtering-1000': {
    uplink: true,
    ours: (hole) => `version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    mode: filtering\n    vlans:\n      - id: 10\n` +
      `    vif-vlans: [${hole ? '"100-499", "501-1099"' : '"100-1099"'}]\n`,
    theirs: (hole) => vethPair('xenbr0-d0', 'eth0') +
      stanza('xenbr0', 'bridge-ports peth0 xenbr0-d0', 'bridge-vlan-aware yes', `bridge-vids 10 ${hole ? '100-499 501-1099' : '100-1099'}`, 'bridge-pvid 1', ...bridgeOpts) +
      stanza('eth0.10'),
  },
  'classic-200': {
    uplink: true,
    ours: (hole) => `version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    vlans:\n${range(hole ? 199 : 200, 2).map((v) => `      - id: ${v}\n`).join('')}`,
    theirs: (hole) => vethPair('xenbr0-d0', 'eth0') + stanza('xenbr0', 'bridge-ports peth0 xenbr0-d0', ...bridgeOpts) +
      range(hole ? 199 : 200, 2).map((v) => stanza(`eth0.${v}`) + stanza(`xenbr0v${v}`, `bridge-ports eth0.${v}`, ...bridgeOpts)).join(''),
  },
};

/** What both tools must agree on, as sorted text lines. */
const stateOf = (ns) => {
  const links = JSON.parse(sh(['ip', '-n', ns, '-j', '-d', 'link', 'show']));
  const lines = links.filter((l) => l.ifname !== 'lo').map((l) => {
    const info = l.linkinfo ?? {};
    const data = info.info_data ?? {};
    return `link ${l.ifname} ${info.info_kind ?? 'device'}${data.id === undefined ? '' : ` id ${data.id}`}` +
      `${l.link ? ` on ${l.link}` : ''}${l.master ? ` master ${l.master}` : ''}${l.flags.includes('UP') ? ' up' : ' down'}` +
      `${info.info_kind === 'bridge' ? ` filtering ${data.vlan_filtering}` : ''}`;
  });
  const bridges = new Set(links.filter((l) => l.linkinfo?.info_kind === 'bridge').map((l) => l.ifname));
  for (const port of JSON.parse(sh(['bridge', '-n', ns, '-j', '-c', 'vlan', 'show']) || '[]')) {
    if (bridges.has(port.ifname)) continue; // the bridge's own entries: each tool's choice
    for (const v of port.vlans) lines.push(`vlan ${port.ifname} ${v.vlan}${v.vlanEnd ? `-${v.vlanEnd}` : ''} ${(v.flags ?? []).sort().join(',')}`);
  }
  return lines.sort();
};

/** What only one of two states has, or undefined when they are the same. */
const differ = (ours, theirs) => {
  const onlyOurs = ours.filter((l) => !theirs.includes(l));
  const onlyTheirs = theirs.filter((l) => !ours.includes(l));
  return onlyOurs.length + onlyTheirs.length > 0 ? { onlyOurs, onlyTheirs } : undefined;
};

const scenario = (name) => SCENARIOS[name] ?? (/^plain-[1-9]\d*$/.test(name) ? plain(Number(name.slice(6))) : undefined);

export const benchIfupdown2 = (root, name, rounds = 3) => {
  const s = scenario(name);
  const dir = mkdtempSync(join(tmpdir(), 'xenbridge-ifupdown2-'));
  const etc = join(dir, 'etc-network');
  mkdirSync(etc);
  sh(['cp', '-a', join(root, 'etc/network/ifupdown2'), etc]);
  symlinkSync(join(root, 'usr/share/ifupdown2/ifupdown2'), join(dir, 'ifreload'));
  const cfg = join(dir, 'topology.yaml');
  const made = [];
  const fresh = (tag, renamed) => {
    const ns = `xbif2${process.pid}${tag}${made.length}`;
    sh(['ip', 'netns', 'add', ns]);
    made.push(ns);
    if (s.uplink) {
      sh(['ip', 'netns', 'add', `${ns}sw`]);
      made.push(`${ns}sw`);
      // ifupdown2 renames no NIC: it starts where a udev rule would have left it.
      sh(['ip', '-n', ns, 'link', 'add', renamed ? 'peth0' : 'eth0', 'type', 'veth', 'peer', 'name', 'sw0', 'netns', `${ns}sw`]);
      sh(['ip', '-n', `${ns}sw`, 'link', 'set', 'sw0', 'up']);
    }
    return ns;
  };
  // ifupdown2 keeps its state on the tmpfs mounted over /run below; ours goes on one too.
  const runDir = freshRunDir('ifupdown2-run');
  const env = { ...process.env, XENBRIDGE_RUN_DIR: runDir };
  const ours = (ns, hole, e = env) => { writeFileSync(cfg, s.ours(hole)); settle(); return timed(() => execFileSync(BIN, ['apply', '-c', cfg, '--netns', ns], { env: e, stdio: ['ignore', 'pipe', 'pipe'] })); };
  /**
   * ifupdown2 checks a bridge's ports against a netlink cache that a thread of its own keeps: on a
   * busy machine a veth it has just made can be missing from it ("bridge port ... does not exist").
   * Its answer to that is another run; the time counts every run it needed, and the runs are shown.
   */
  const failures = [];
  const theirs = (ns, hole) => {
    writeFileSync(join(etc, 'interfaces'), s.theirs(hole));
    const prog = `mount --bind ${etc} /etc/network && mount -t tmpfs none /run && mkdir /run/network && mount -t tmpfs none /var/tmp && ` +
      `exec /usr/bin/python3 ${join(dir, 'ifreload')} -a`;
    let ms = 0;
    settle();
    for (let run = 1; ; run++) {
      const t = process.hrtime.bigint();
      try {
        sh(['ip', 'netns', 'exec', ns, 'unshare', '-m', 'sh', '-c', prog]);
        return ms + Number(process.hrtime.bigint() - t) / 1e6;
      } catch (e) {
        ms += Number(process.hrtime.bigint() - t) / 1e6;
        const errors = String(e.stderr).split('\n').filter((l) => l.startsWith('error:'));
        failures.push(`run ${run}: ${errors.length} error(s), e.g. ${errors[0] ?? String(e.stderr).trim().split('\n')[0]}`);
        if (run === 3) throw e;
      }
    }
  };
  try {
    const a = fresh('o', false);
    const b = fresh('t', true);
    const first = { ours: ours(a, false), theirs: theirs(b, false) };
    const [sa, sb] = [stateOf(a), stateOf(b)];
    const differs = differ(sa, sb);
    if (differs) return { name, failures, differs };
    const same = { ours: [], theirs: [], plain: [] };
    const change = { ours: [], theirs: [] };
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) same.ours.push(ours(a, false));
      same.theirs.push(theirs(b, false));
      if (r % 2 === 1) same.ours.push(ours(a, false));
      same.plain.push(ours(a, false, withoutSnapshot(env)));
    }
    // The change is timed only if both tools made it: the states must agree after it, not only once it is undone.
    // Both ways, `rounds` times: a median of two would be the slower of the pair.
    let changeDiffers;
    for (let r = 0; r < rounds; r++) {
      for (const hole of [true, false]) {
        change.ours.push(ours(a, hole));
        change.theirs.push(theirs(b, hole));
        if (hole) changeDiffers ??= differ(stateOf(a), stateOf(b));
      }
    }
    const agree = JSON.stringify(stateOf(a)) === JSON.stringify(stateOf(b));
    return { name, lines: sa.length, agree, changeDiffers, failures, first, same: { ours: median(same.ours), theirs: median(same.theirs), plain: median(same.plain) }, change: { ours: median(change.ours), theirs: median(change.theirs) } };
  } finally {
    for (const ns of made.reverse()) sh(['ip', 'netns', 'del', ns]);
    sh(['rm', '-rf', dir, runDir]);
  }
};

export const printIfupdown2 = (r) => {
  for (const f of r.failures) console.log(`  ifupdown2 ran again after a failed run (${r.name}): ${f}`);
  if (r.differs) {
    console.log(`ifupdown2 vs xenbridge, ${r.name}: not timed, the kernel states differ`);
    for (const l of r.differs.onlyOurs.slice(0, 8)) console.log(`  only xenbridge: ${l}`);
    for (const l of r.differs.onlyTheirs.slice(0, 8)) console.log(`  only ifupdown2: ${l}`);
    return;
  }
  const f = (x) => `${(x / 1000).toFixed(2)} s`;
  const row = (what, x) => `  ${what} xenbridge ${f(x.ours)}  ifupdown2 ${f(x.theirs)}  -> ifupdown2/xenbridge x${(x.theirs / x.ours).toFixed(1)}`;
  console.log(`ifupdown2 vs xenbridge, ${r.name} (same kernel state: ${r.lines} links and VLAN entries${r.agree ? '' : '; they DIFFER after the one change'}):`);
  console.log(row('first:     ', r.first));
  console.log(row('no-change: ', r.same));
  console.log(row('  no snapshot:', { ours: r.same.plain, theirs: r.same.theirs }));
  if (!r.changeDiffers) return console.log(row('one change:', r.change));
  console.log('  one change: not comparable, the kernel states differ after it:');
  for (const l of r.changeDiffers.onlyOurs.slice(0, 8)) console.log(`    only xenbridge: ${l}`);
  for (const l of r.changeDiffers.onlyTheirs.slice(0, 8)) console.log(`    only ifupdown2: ${l}`);
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [root, ...names] = process.argv.slice(2);
  if (!root || names.some((n) => !scenario(n))) {
    console.error(`usage: node bench/ifupdown2.mjs ROOT [plain-N|${Object.keys(SCENARIOS).join('|')}...]`);
    process.exit(2);
  }
  await readySnapshot();
  console.log(`xenbridge: ${RUN_BASE_NOTE}`);
  for (const n of names.length ? names : ['plain-500']) {
    try {
      printIfupdown2(benchIfupdown2(root, n));
    } catch (e) {
      console.log(`ifupdown2 vs xenbridge, ${n}: failed: ${String(e.stderr ?? e.message).trim().split('\n').slice(0, 6).join(' | ')}`);
      process.exitCode = 1;
    }
  }
}
