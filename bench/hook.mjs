// vif hook wall time: ours from the checkout (a module graph under dist/), ours from the bundle the
// package ships (one file per entry, npm run package), and Xen's own vif-bridge; same bridge, same
// namespace, same file-backed xenstore, online then offline, median of N each, in turn. Xen's
// scripts come from the Xen bed's extracted packages (test/xen/prepare.sh), never from this host.
import { freshRunDir } from './env.mjs';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { bundle } from '../dist/package/bundle.js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const XEN_SCRIPTS = join(process.env.XENBRIDGE_XEN_CACHE ?? join(homedir(), '.cache/xenbridge-xen'), 'root/etc/xen/scripts');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sh = (args, env) => execFileSync(args[0], args.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });

export const benchHook = async (n = 15) => {
  if (!existsSync(join(XEN_SCRIPTS, 'vif-bridge'))) return undefined;
  const dir = freshRunDir('hookbench');
  const ns = `xbhook${process.pid}`;
  const store = join(dir, 'store');
  const cfg = join(dir, 'topology.yaml');
  const bundled = join(dir, 'bundle');
  await bundle({ repo: ROOT, out: bundled });
  writeFileSync(cfg, 'version: 1\nbridges:\n  - name: xenbr0\n    dom0: {ifname: h0}\n');
  mkdirSync('/var/log/xen', { recursive: true });
  sh(['ip', 'netns', 'add', ns]);
  try {
    sh(['ip', 'netns', 'exec', ns, 'node', join(ROOT, 'bin/xenbridge'), 'apply', '-c', cfg], { ...process.env, XENBRIDGE_RUN_DIR: dir });
    const env = (d, script) => ({
      PATH: `${join(ROOT, 'test/fixtures/xenstore')}:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, XENSTORE_DIR: store,
      XENBRIDGE_RUN_DIR: dir, XENBRIDGE_CONFIG: cfg, XENBRIDGE_HOTPLUG_LOG: join(dir, 'hotplug.log'),
      vif: `vif${d}.0`, XENBUS_PATH: `backend/vif/${d}/0`, XENBUS_TYPE: 'vif', XENBUS_BASE_PATH: 'backend', netdev: '', script,
    });
    const run = (d, script, argv) => {
      mkdirSync(join(store, `backend/vif/${d}/0`), { recursive: true });
      writeFileSync(join(store, `backend/vif/${d}/0/bridge`), 'xenbr0');
      // Guards (the default) need the guest's MAC, as xl writes it.
      const mac = `00:16:3e:00:${(d >> 8).toString(16).padStart(2, '0')}:${(d & 255).toString(16).padStart(2, '0')}`;
      writeFileSync(join(store, `backend/vif/${d}/0/mac`), mac);
      sh(['ip', '-n', ns, 'link', 'add', 'name', `vif${d}.0`, 'type', 'veth', 'peer', 'name', `g${d}`, 'address', mac]);
      const times = [];
      for (const action of ['online', 'offline']) {
        const t = process.hrtime.bigint();
        sh(['ip', 'netns', 'exec', ns, ...argv, action, 'type_if=vif'], env(d, script));
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      return times;
    };
    const ours = [];
    const pkg = [];
    const xen = [];
    for (let i = 0; i < n; i++) {
      ours.push(run(100 + i, join(ROOT, 'hooks/vif-xenbridge'), ['node', join(ROOT, 'bin/xenbridge'), 'vif']));
      pkg.push(run(300 + i, join(bundled, 'hooks/vif-xenbridge'), ['node', join(bundled, 'bin/xenbridge'), 'vif']));
      xen.push(run(200 + i, join(XEN_SCRIPTS, 'vif-bridge'), ['bash', join(XEN_SCRIPTS, 'vif-bridge')]));
    }
    return {
      n,
      oursOnline: median(ours.map((t) => t[0])), oursOffline: median(ours.map((t) => t[1])),
      pkgOnline: median(pkg.map((t) => t[0])), pkgOffline: median(pkg.map((t) => t[1])),
      xenOnline: median(xen.map((t) => t[0])), xenOffline: median(xen.map((t) => t[1])),
    };
  } finally {
    sh(['ip', 'netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
};

export const printHook = (r) => {
  if (!r) {
    console.log('vif hook: skipped measuring against vif-bridge: run test/xen/prepare.sh to extract Xen\'s scripts');
    return;
  }
  const f = (x) => `${x.toFixed(0)} ms`;
  console.log(`vif hook, median of ${r.n} (native speed; the real-Xen bed measures it inside an emulated dom0):`);
  const x = (a, b) => `${(a / b).toFixed(2)}x`;
  for (const [what, ours, pkg, xen] of [['online: ', r.oursOnline, r.pkgOnline, r.xenOnline], ['offline:', r.oursOffline, r.pkgOffline, r.xenOffline]]) {
    console.log(`  ${what} checkout ${f(ours)}  bundle ${f(pkg)}  vif-bridge ${f(xen)}  -> bundle/checkout ${x(pkg, ours)}, checkout/vif-bridge ${x(ours, xen)}, bundle/vif-bridge ${x(pkg, xen)}`);
  }
};

/**
 * The hook through hooks/vif-xenbridge and the resident service, against the direct path and Xen's
 * vif-bridge; and guards' cost on both paths: one bed with guards (the default), one without.
 */
export const benchHookService = async (n = 11, hows = ['direct', 'hook']) => {
  const { hookBed, median: med, UNGUARDED } = await import('./hookd-bed.mjs');
  // proc: guarded, the service running an nft process per guard batch (--no-resident-nft).
  const beds = { on: hookBed('on'), off: hookBed('off', UNGUARDED), proc: hookBed('proc') };
  const t = {};
  const put = (k, v) => (t[k] ??= []).push(v);
  // The service's CPU time per bed and action, summed over the events (clock ticks are 10 ms).
  const cpu_ = {};
  try {
    for (const [g, b] of Object.entries(beds)) await b.startService(g === 'proc' ? ['--no-resident-nft'] : []);
    // A guest that stays attached, as on any host with guests: the measured vifs come and go beside it.
    for (const b of Object.values(beds)) {
      b.vif(999);
      b.event('hook', 999, 'online');
    }
    const xen = existsSync(join(XEN_SCRIPTS, 'vif-bridge'));
    let d = 1;
    for (let i = 0; i < n; i++) {
      // The beds' order turns each round: a shared machine's load drifts.
      const order = Object.entries(beds);
      for (let k = 0; k < i % order.length; k++) order.push(order.shift());
      for (const [g, b] of order) {
        for (const how of g === 'proc' ? ['hook'] : hows) {
          b.vif(d);
          for (const [a, action] of [['on', 'online'], ['off', 'offline']]) {
            const cpu = b.serviceCpu();
            put(`${how}-${g}-${a}`, b.event(how, d, action));
            if (how === 'hook') cpu_[`${g}-${a}`] = (cpu_[`${g}-${a}`] ?? 0) + b.serviceCpu() - cpu;
          }
          d++;
        }
      }
      if (xen) {
        beds.off.vif(d);
        put('xen-on', beds.off.event('xen', d, 'online'));
        put('xen-off', beds.off.event('xen', d, 'offline'));
        d++;
      }
    }
  } finally {
    for (const b of Object.values(beds)) await b.done();
  }
  return { n, cpu: Object.fromEntries(Object.entries(cpu_).map(([k, v]) => [k, v / n])), ...Object.fromEntries(Object.entries(t).map(([k, v]) => [k, med(v)])) };
};

export const printHookService = (r) => {
  const f = (x) => (x === undefined ? "n/a" : `${x.toFixed(0)} ms`);
  const x = (a, b) => (a === undefined || b === undefined ? 'n/a' : `${(a / b).toFixed(2)}x`);
  console.log(`vif hook through the resident service (hooks/vif-xenbridge -> xenbridge hookd), median of ${r.n}, native speed:`);
  for (const a of ['on', 'off']) {
    const what = a === 'on' ? 'online: ' : 'offline:';
    console.log(`  ${what} service ${f(r[`hook-on-${a}`])} (unguarded ${f(r[`hook-off-${a}`])})  direct ${f(r[`direct-on-${a}`])} (unguarded ${f(r[`direct-off-${a}`])})` +
      `${r[`xen-${a}`] === undefined ? '' : `  vif-bridge ${f(r[`xen-${a}`])}`}`);
    console.log(`    -> service/vif-bridge ${x(r[`hook-on-${a}`], r[`xen-${a}`])}, service/direct ${x(r[`hook-on-${a}`], r[`direct-on-${a}`])}, ` +
      `guarded/unguarded: service ${x(r[`hook-on-${a}`], r[`hook-off-${a}`])}, direct ${x(r[`direct-on-${a}`], r[`direct-off-${a}`])}`);
    console.log(`    service with an nft process per guard batch (--no-resident-nft): ${f(r[`hook-proc-${a}`])}, guarded/unguarded ${x(r[`hook-proc-${a}`], r[`hook-off-${a}`])}; resident/process ${x(r[`hook-on-${a}`], r[`hook-proc-${a}`])}`);
    const c = (g) => r.cpu[`${g}-${a}`];
    console.log(`    CPU time of the service and its processes per event (mean): guarded ${f(c('on'))}, with an nft process per batch ${f(c('proc'))}, unguarded ${f(c('off'))}: guarded/unguarded ${x(c('on'), c('off'))} (nft process per batch ${x(c('proc'), c('off'))})`);
  }
};
