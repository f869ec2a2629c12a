// The .deb from `npm run package`, built once, installed with dpkg into a throwaway root (private
// admin directory; maintainer scripts run outside a chroot with DPKG_ROOT set, as for any --root
// install), then run from there: no checkout, no node_modules. .ci/run installs lintian.
import { execa } from 'execa';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardsDropIn, hookdUnit, serviceUnit, vifHook, SAMPLE_TOPOLOGY } from '../../src/install/files.js';
import { buildDeb } from '../../src/package/build-deb.js';
import { installedLauncher } from '../../src/package/bundle.js';
import { cliTree } from '../../src/package/cli-tree.js';
import { bashCompletion } from '../../src/package/completion.js';
import { makeSandbox } from '../helpers/netns.js';
import { ROOT, sh } from '../helpers/sh.js';
import { until, WAIT_MS } from '../helpers/snapshot-wait.js';
import { makeXenBed } from '../helpers/vif.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Every file the package installs, its mode and what it is. */
const FILES: [string, string][] = [
  ['etc/xen/scripts/vif-xenbridge', '-rwxr-xr-x'],
  ['etc/xenbridge/topology.yaml', '-rw-r--r--'],
  ['lib/systemd/system/nftables.service.d/xenbridge-guards.conf', '-rw-r--r--'],
  ['lib/systemd/system/xenbridge-hookd.service', '-rw-r--r--'],
  ['lib/systemd/system/xenbridge.service', '-rw-r--r--'],
  ['usr/bin/xenbridge', 'lrwxrwxrwx'],
  ['usr/lib/xenbridge/bin/version.cjs', '-rw-r--r--'],
  ['usr/lib/xenbridge/bin/xenbridge', '-rwxr-xr-x'],
  ['usr/lib/xenbridge/dist/cli/main.js', '-rw-r--r--'],
  ['usr/lib/xenbridge/dist/cli/snapshot.cjs', '-rw-r--r--'],
  ['usr/lib/xenbridge/dist/cli/snapshot.id', '-rw-r--r--'],
  ['usr/lib/xenbridge/dist/cli/vif-main.js', '-rw-r--r--'],
  ['usr/lib/xenbridge/hooks/vif-xenbridge', '-rwxr-xr-x'],
  ['usr/lib/xenbridge/package.json', '-rw-r--r--'],
  ['usr/share/bash-completion/completions/xenbridge', '-rw-r--r--'],
  ['usr/share/doc/xenbridge/README.md.gz', '-rw-r--r--'],
  ['usr/share/doc/xenbridge/changelog.gz', '-rw-r--r--'],
  ['usr/share/doc/xenbridge/copyright', '-rw-r--r--'],
  ['usr/share/man/man5/xenbridge-topology.5.gz', '-rw-r--r--'],
  ['usr/share/man/man8/xenbridge.8.gz', '-rw-r--r--'],
];

let work: string;
let deb: string;
let root: string;
let netns: string;
let linksBefore: string;
/** dpkg inside a namespace with only lo: no network to touch or download from, and any change would show. */
const dpkg = (...args: string[]) =>
  execa('ip', ['netns', 'exec', netns, 'dpkg', `--root=${root}`, `--admindir=${root}/var/lib/dpkg`, '--force-script-chrootless', '--log=/dev/null', ...args], { reject: false });
const links = () => sh(`ip -n ${netns} -j -d link show; ip -n ${netns} -j addr show; ip -n ${netns} -j route show table all`);
const installedBin = () => join(root, 'usr/bin/xenbridge');

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'xenbridge-pkg-'));
  deb = await buildDeb({ repo: ROOT, outDir: work });
  root = join(work, 'root');
  mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
  mkdirSync(join(root, 'var/lib/dpkg/updates'), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  netns = `xbpkg${process.pid}`;
  await sh(`ip netns add ${netns}`);
  linksBefore = await links();
  // The throwaway root has neither nodejs nor iproute2 registered: only the dependency check is forced.
  const r = await dpkg('--force-depends', '-i', deb);
  expect(r.exitCode, r.stderr).toBe(0);
}, 180_000);
afterAll(async () => {
  await sh(`ip netns del ${netns} 2>/dev/null; true`);
  rmSync(work, { recursive: true, force: true });
});

describe('the .deb', () => {
  it(`is xenbridge_${VERSION}_all.deb with every file, mode and owner listed, and nothing else`, async () => {
    expect(deb).toBe(join(work, `xenbridge_${VERSION}_all.deb`));
    const list = (await execa('dpkg-deb', ['-c', deb])).stdout.split('\n').filter((l) => !l.startsWith('d'))
      .map((l) => l.split(/\s+/)).map((f) => [f[5]!.replace(/^\.\//, ''), f[0]!, f[1]!]);
    expect(list.sort()).toEqual(FILES.map(([p, m]) => [p, m, 'root/root']).sort());
  });

  it('declares its dependencies, its conffiles and no maintainer script that touches the network', async () => {
    const info = (f: string) => execa('dpkg-deb', ['-f', deb, f]).then((r) => r.stdout);
    expect(await info('Depends')).toBe('nodejs (>= 20), iproute2, nftables');
    expect(await info('Recommends')).toBe('tcpdump, iputils-arping, dhcpcd-base');
    expect(await info('Architecture')).toBe('all');
    expect((await execa('dpkg-deb', ['-I', deb, 'conffiles'])).stdout).toBe('/etc/xen/scripts/vif-xenbridge\n/etc/xenbridge/topology.yaml');
    const scripts = ((await execa('dpkg-deb', ['-I', deb, 'postinst'])).stdout + (await execa('dpkg-deb', ['-I', deb, 'postrm'])).stdout).replace(/^\s*#.*$/gm, '');
    expect(scripts).not.toMatch(/(^|[;&|]\s*)(ip|bridge|\S*bin\/xenbridge|xenbridge|deb-systemd-invoke)\s|systemctl (--\S+ )*(start|stop|restart|enable)/m);
    expect(scripts).toContain('systemctl --system daemon-reload');
    expect((await execa('dpkg-deb', ['-I', deb])).stdout).not.toMatch(/\b(preinst|prerm)\b/);
  });

  it('lintian reports no error', async () => {
    const r = await execa('lintian', ['--no-tag-display-limit', deb], { reject: false });
    expect(r.stdout.split('\n').filter((l) => /^E: /.test(l))).toEqual([]);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
  }, 120_000);
});

describe('installed into a throwaway root', () => {
  it('installing changed nothing on the network of the namespace dpkg ran in', async () => {
    expect(await links()).toBe(linksBefore);
  });

  it('dpkg records it installed, with its conffiles, and every file is in place with its text', () => {
    const status = readFileSync(join(root, 'var/lib/dpkg/status'), 'utf8');
    expect(status).toMatch(/^Status: install ok installed$/m);
    expect(status).toMatch(/^Conffiles:\n \/etc\/xen\/scripts\/vif-xenbridge [0-9a-f]{32}\n \/etc\/xenbridge\/topology.yaml [0-9a-f]{32}$/m);
    for (const [p, mode] of FILES) expect(lstatSync(join(root, p)).mode & 0o777, p).toBe(mode.startsWith('l') ? 0o777 : mode.includes('x') ? 0o755 : 0o644);
    expect(readlinkSync(installedBin())).toBe('../lib/xenbridge/bin/xenbridge');
    const shim = readFileSync(join(ROOT, 'hooks/vif-xenbridge'), 'utf8');
    // xl runs hooks with a minimal PATH: the hook names the CLI by its absolute path.
    expect(readFileSync(join(root, 'etc/xen/scripts/vif-xenbridge'), 'utf8')).toBe(vifHook(shim, '/usr/bin/xenbridge'));
    expect(readFileSync(join(root, 'lib/systemd/system/xenbridge.service'), 'utf8')).toBe(serviceUnit('/usr/bin/xenbridge', 'package'));
    expect(readFileSync(join(root, 'lib/systemd/system/xenbridge-hookd.service'), 'utf8')).toBe(hookdUnit('/usr/bin/xenbridge', 'package'));
    expect(readFileSync(join(root, 'lib/systemd/system/nftables.service.d/xenbridge-guards.conf'), 'utf8')).toBe(guardsDropIn('/usr/bin/xenbridge', 'package'));
    expect(readFileSync(join(root, 'etc/xenbridge/topology.yaml'), 'utf8')).toBe(SAMPLE_TOPOLOGY);
    expect(readFileSync(join(root, 'usr/lib/xenbridge/bin/xenbridge'), 'utf8')).toMatch(/^#!\/bin\/sh\n':' \/\/; R=\/usr\/lib\/xenbridge N=\/usr\/bin\/node C=\/var\/cache\/xenbridge\/snapshot\n/);
    expect(readFileSync(join(root, 'usr/share/bash-completion/completions/xenbridge'), 'utf8')).toBe(bashCompletion(cliTree()));
    expect(gunzipSync(readFileSync(join(root, 'usr/share/man/man8/xenbridge.8.gz'))).toString()).toContain('.SH COMMANDS\n.SS plan\n');
  });

  it('systemd-analyze verify accepts the unit, and man finds the pages it names', async () => {
    const unit = join(work, 'xenbridge.service');
    // The unit names /usr/bin/xenbridge, which is the throwaway root's: point it there to check it.
    writeFileSync(unit, readFileSync(join(root, 'lib/systemd/system/xenbridge.service'), 'utf8').replaceAll('/usr/bin/xenbridge', installedBin()));
    const v = await execa('systemd-analyze', ['verify', unit], { reject: false, env: { MANPATH: join(root, 'usr/share/man') } });
    expect([v.exitCode, v.stderr, v.stdout]).toEqual([0, '', '']);
    expect(readFileSync(unit, 'utf8')).toMatch(/^Before=network\.target xendomains\.service/m);
  });

  it('runs with no node_modules anywhere: --version, and plan of a topology in a namespace', async () => {
    for (const d of [work, tmpdir(), '/']) expect(existsSync(join(d, 'node_modules')), d).toBe(false);
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
    const v = await execa(installedBin(), ['--version'], { env, extendEnv: false, reject: false });
    expect([v.exitCode, v.stdout]).toEqual([0, VERSION]);
    const sb = await makeSandbox();
    try {
      const cfg = join(sb.runDir, 'topology.yaml');
      writeFileSync(cfg, 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n');
      const p = await execa(installedBin(), ['plan', '-c', cfg, '--netns', sb.dom0], { env: { ...env, ...sb.env }, extendEnv: false, reject: false });
      expect(p.exitCode, p.stderr).toBe(0);
      expect(p.stdout).toMatch(/^ip link add name xenbr0 /m);
      const s = await execa(installedBin(), ['plan', '-c', join(root, 'etc/xenbridge/topology.yaml'), '--netns', sb.dom0], { env: { ...env, ...sb.env }, extendEnv: false, reject: false });
      expect([s.exitCode, s.stderr]).toEqual([0, '']);
    } finally {
      await sb.cleanup();
    }
  });

  it('the installed tree starts from a snapshot of its minified bundle, made in its cache directory', async () => {
    // The launcher as installed, with its paths moved into the throwaway root.
    const cache = join(work, 'cache/snapshot');
    const launcher = join(root, 'usr/lib/xenbridge/bin/xenbridge-here');
    writeFileSync(launcher, installedLauncher(readFileSync(join(root, 'usr/lib/xenbridge/bin/xenbridge'), 'utf8'), { at: join(root, 'usr/lib/xenbridge'), node: '/usr/bin/node', snapshotDir: cache }), { mode: 0o755 });
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
    const run = (args: string[]) => execa('sh', ['-x', launcher, ...args], { env, extendEnv: false, reject: false });
    expect((await run(['--help'])).exitCode).toBe(0);
    const blob = join(cache, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), 'cli.blob');
    await until(join(root, 'usr/lib/xenbridge'), () => existsSync(blob));
    const h = await run(['--help']);
    expect(h.stdout).toMatch(/^Usage: xenbridge /);
    expect(h.stderr).toMatch(/^\+ exec \/usr\/bin\/node --snapshot-blob \S+\/cache\/snapshot\/[0-9a-f-]{36}\/cli\.blob \S+\/usr\/lib\/xenbridge\/dist\/cli\/main\.js --help$/m);
    // --version reads package.json only: the installed launcher starts version.cjs, not the snapshot.
    const v = await run(['--version']);
    expect(v.stdout).toBe(VERSION);
    expect(v.stderr).toMatch(/^\+ exec \/usr\/bin\/node \S+\/usr\/lib\/xenbridge\/bin\/version\.cjs$/m);
    const bad = await run(['plan', '-c', join(work, 'missing.yaml')]);
    expect(bad.exitCode).toBe(65);
    expect(bad.stderr.split('\n').filter((l) => !l.startsWith('+ '))[0]).toMatch(/^xenbridge: cannot read topology file /);
    rmSync(launcher);
  }, WAIT_MS + 60_000);

  it('the installed hook entry attaches a vif and reports connected to xenstore', async () => {
    const sb = await makeSandbox();
    try {
      const cfg = join(sb.runDir, 'topology.yaml');
      writeFileSync(cfg, 'version: 1\nbridges:\n  - name: xenbr0\n');
      expect((await execa(installedBin(), ['apply', '-c', cfg, '--netns', sb.dom0], { env: sb.env, reject: false })).exitCode).toBe(0);
      const xen = makeXenBed(sb, cfg);
      await xen.makeVif(4, 0);
      xen.setVif(4, 0, { bridge: 'xenbr0' });
      const r = await execa(installedBin(), ['vif', 'online', 'type_if=vif'], {
        env: { ...xen.env, XENBUS_PATH: 'backend/vif/4/0', vif: 'vif4.0' }, extendEnv: false, reject: false,
      });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(xen.read(4, 0, 'hotplug-status')).toBe('connected');
      expect(JSON.parse(await sb.ip('-j link show dev vif4.0'))[0].master).toBe('xenbr0');
      await xen.cleanup();
    } finally {
      await sb.cleanup();
    }
  });

  it('remove keeps the conffiles; purge removes everything the package owns and nothing else', async () => {
    const at = (p: string) => join(root, p);
    writeFileSync(at('etc/xenbridge/topology.yaml'), 'version: 1 # edited by the admin\nbridges: []\n');
    writeFileSync(at('etc/xenbridge/notes.txt'), 'not the package\'s\n');
    writeFileSync(at('etc/xen/scripts/vif-bridge'), '#!/bin/sh\n');
    mkdirSync(at('etc/systemd/system/multi-user.target.wants'), { recursive: true });
    symlinkSync('/lib/systemd/system/xenbridge.service', at('etc/systemd/system/multi-user.target.wants/xenbridge.service'));
    expect((await dpkg('--remove', 'xenbridge')).exitCode).toBe(0);
    expect(existsSync(installedBin())).toBe(false);
    expect(readFileSync(at('etc/xenbridge/topology.yaml'), 'utf8')).toContain('edited by the admin');
    expect(existsSync(at('etc/xen/scripts/vif-xenbridge'))).toBe(true);
    expect((await dpkg('--purge', 'xenbridge')).exitCode).toBe(0);
    for (const [p] of FILES) expect(existsSync(at(p)), p).toBe(false);
    expect(existsSync(at('etc/systemd/system/multi-user.target.wants/xenbridge.service'))).toBe(false);
    expect(readFileSync(at('etc/xenbridge/notes.txt'), 'utf8')).toBe('not the package\'s\n');
    expect(existsSync(at('etc/xen/scripts/vif-bridge'))).toBe(true);
    expect(readFileSync(at('var/lib/dpkg/status'), 'utf8')).not.toMatch(/^Package: xenbridge$/m);
    expect(await links()).toBe(linksBefore);
  });
});

