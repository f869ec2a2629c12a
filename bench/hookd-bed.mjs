// A namespace with one applied bridge, a file-backed xenstore and fake vifs (veth), for timing the
// vif hook: directly (a Node start per event), through hooks/vif-xenbridge and the hook service,
// and Xen's own vif-bridge.
import { freshRunDir } from './env.mjs';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const XEN_SCRIPTS = join(process.env.XENBRIDGE_XEN_CACHE ?? join(homedir(), '.cache/xenbridge-xen'), 'root/etc/xen/scripts');
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sh = (args, env) => execFileSync(args[0], args.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const mac = (d) => `00:16:3e:00:${(d >> 8).toString(16).padStart(2, '0')}:${(d & 255).toString(16).padStart(2, '0')}`;
const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;

export const TOPO = 'version: 1\nbridges:\n  - name: xenbr0\n    dom0: {ifname: h0}\n';
export const UNGUARDED = `${TOPO}    vif-antispoof: false\n    insecure-vif-all-tags: true\n`;

/** /proc/PID/stat after the command name: [11] utime, [12] stime, [13] cutime, [14] cstime (ticks). */
const stat = (pid) => {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ').map(Number);
  } catch {
    return [];
  }
};

export const hookBed = (name, topo = TOPO) => {
  // On tmpfs, as /run is on a dom0: the records' fsyncs cost what they cost there.
  const dir = freshRunDir('hookdbench');
  const ns = `xbhd${name}${process.pid}`;
  const cfg = join(dir, 'topology.yaml');
  writeFileSync(cfg, topo);
  mkdirSync('/var/log/xen', { recursive: true });
  sh(['ip', 'netns', 'add', ns]);
  const base = {
    PATH: `${join(ROOT, 'test/fixtures/xenstore')}:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, XENSTORE_DIR: join(dir, 'store'),
    XENBRIDGE_RUN_DIR: dir, XENBRIDGE_CONFIG: cfg, XENBRIDGE_HOTPLUG_LOG: join(dir, 'hotplug.log'), XENBRIDGE_NETNS: ns, XENBRIDGE_BIN: join(ROOT, 'bin/xenbridge'),
  };
  sh(['node', join(ROOT, 'bin/xenbridge'), 'apply', '-c', cfg, '--netns', ns], { ...process.env, XENBRIDGE_RUN_DIR: dir });
  const env = (d, script = '/etc/xen/scripts/vif-xenbridge') => ({
    ...base, vif: `vif${d}.0`, XENBUS_PATH: `backend/vif/${d}/0`, XENBUS_TYPE: 'vif', XENBUS_BASE_PATH: 'backend', netdev: '', script,
  });
  // Xen's vif-bridge works in the namespace it runs in: it is run under ip netns exec.
  const argv = {
    direct: [join(ROOT, 'bin/xenbridge'), 'vif'],
    hook: ['/bin/sh', join(ROOT, 'hooks/vif-xenbridge')],
    xen: ['ip', 'netns', 'exec', ns, 'bash', join(XEN_SCRIPTS, 'vif-bridge')],
  };
  let svc;
  return {
    ns,
    vif: (d) => {
      const b = join(dir, 'store', `backend/vif/${d}/0`);
      mkdirSync(b, { recursive: true });
      writeFileSync(join(b, 'bridge'), 'xenbr0');
      writeFileSync(join(b, 'mac'), mac(d));
      sh(['ip', '-n', ns, 'link', 'add', 'name', `vif${d}.0`, 'type', 'veth', 'peer', 'name', `g${d}`, 'address', mac(d)]);
    },
    /** One event through `how` (direct | hook | xen), its wall time in ms. */
    event: (how, d, action) => {
      const t = process.hrtime.bigint();
      sh([...argv[how], action, 'type_if=vif'], env(d, how === 'xen' ? join(XEN_SCRIPTS, 'vif-bridge') : undefined));
      return ms(t);
    },
    /** The same event for many vifs at once (how: direct | hook): the wall time until the last ends, and how many failed. */
    storm: async (how, ds, action) => {
      const t = process.hrtime.bigint();
      const codes = await Promise.all(ds.map((d) => new Promise((resolve) => {
        const [cmd, ...args] = argv[how];
        spawn(cmd, [...args, action, 'type_if=vif'], { env: env(d), stdio: 'ignore' }).on('close', resolve);
      })));
      return { ms: ms(t), failed: codes.filter((c) => c !== 0).length };
    },
    startService: async (args = []) => {
      svc = spawn('node', [join(ROOT, 'bin/xenbridge'), 'hookd', ...args], { env: base, stdio: ['ignore', 'ignore', 'pipe'] });
      let out = '';
      await new Promise((resolve, reject) => {
        svc.stderr.on('data', (b) => { out += b; if (/serving vif events/.test(out)) resolve(); });
        svc.on('close', () => reject(new Error(`hookd ended: ${out}`)));
      });
      return () => out;
    },
    /**
     * CPU time (ms) the service has used, its ended children and its live ones (the resident nft)
     * included: on a loaded machine the wall time follows the neighbours, the work an event costs much less.
     */
    serviceCpu: () => {
      if (!svc) return 0;
      const own = stat(svc.pid);
      let kids = [];
      try {
        kids = readFileSync(`/proc/${svc.pid}/task/${svc.pid}/children`, 'utf8').trim().split(/\s+/).filter((k) => k !== '');
      } catch {
        // no children file: the ended children only
      }
      const live = kids.reduce((a, k) => a + (stat(k)[11] ?? 0) + (stat(k)[12] ?? 0), 0);
      return ((own[11] ?? 0) + (own[12] ?? 0) + (own[13] ?? 0) + (own[14] ?? 0) + live) * 10;
    },
    stopService: async () => {
      if (!svc) return;
      const s = svc;
      svc = undefined;
      s.removeAllListeners('close');
      await new Promise((resolve) => { s.on('close', resolve); s.kill('SIGTERM'); });
    },
    done: async function () {
      await this.stopService();
      sh(['ip', 'netns', 'del', ns]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
