// `xenbridge install --root DIR` against golden files (test/golden/install/, the CLI path written as
// @BIN@); UPDATE_GOLDEN=1 rewrites them. systemd-analyze must accept the unit: .ci/run installs it.
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/validate.js';
import { withDefaultScript, withXlDefaults } from '../../src/install/files.js';
import { CLI, cli, ROOT } from '../helpers/sh.js';

const GOLDEN = join(ROOT, 'test/golden/install');

const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'xenbridge-root-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('install --root', () => {
  it('writes the hook, the unit and the sample topology exactly as the golden files', async () => {
    const r = await cli(['install', '--root', root]);
    expect(r.code, r.stderr).toBe(0);
    const files = walk(root).map((f) => relative(root, f)).sort();
    expect(files).toEqual(['etc/systemd/system/nftables.service.d/xenbridge-guards.conf', 'etc/systemd/system/xenbridge-hookd.service', 'etc/systemd/system/xenbridge.service', 'etc/xen/scripts/vif-xenbridge', 'etc/xenbridge/topology.yaml']);
    for (const f of files) {
      const text = readFileSync(join(root, f), 'utf8').replaceAll(CLI, '@BIN@');
      if (process.env.UPDATE_GOLDEN) {
        mkdirSync(join(GOLDEN, f, '..'), { recursive: true });
        writeFileSync(join(GOLDEN, f), text);
      }
      expect(text, f).toBe(readFileSync(join(GOLDEN, f), 'utf8'));
    }
    expect(statSync(join(root, 'etc/xen/scripts/vif-xenbridge')).mode & 0o777).toBe(0o755);
    expect(statSync(join(root, 'etc/systemd/system/xenbridge.service')).mode & 0o777).toBe(0o644);
    expect(r.stdout).toBe([
      `wrote ${root}/etc/xen/scripts/vif-xenbridge`,
      `wrote ${root}/etc/systemd/system/xenbridge.service`,
      `wrote ${root}/etc/systemd/system/xenbridge-hookd.service`,
      `wrote ${root}/etc/systemd/system/nftables.service.d/xenbridge-guards.conf`,
      `wrote ${root}/etc/xenbridge/topology.yaml`,
      `the unit and the hook run ${CLI}`,
      `next, for the image: systemctl --root=${root} enable xenbridge xenbridge-hookd`,
    ].join('\n'));
  });

  it('systemd-analyze verify accepts the unit, with no warning', async () => {
    const which = await execa('sh', ['-c', 'command -v systemd-analyze'], { reject: false });
    expect(which.exitCode, 'systemd-analyze is missing: install Debian\'s "systemd" package (.ci/run does)').toBe(0);
    expect((await cli(['install', '--root', root])).code).toBe(0);
    const v = await execa('systemd-analyze', ['verify', ...['xenbridge', 'xenbridge-hookd'].map((u) => join(root, `etc/systemd/system/${u}.service`))], { reject: false });
    expect([v.exitCode, v.stderr, v.stdout]).toEqual([0, '', '']);
  });

  it("systemd-analyze reads the drop-in with Debian's nftables.service and has nothing to say of it", async () => {
    expect((await cli(['install', '--root', root])).code).toBe(0);
    const units = join(root, 'units');
    mkdirSync(join(units, 'nftables.service.d'), { recursive: true });
    writeFileSync(join(units, 'nftables.service'), readFileSync(join(ROOT, 'test/fixtures/systemd/nftables.service')));
    const dropIn = readFileSync(join(root, 'etc/systemd/system/nftables.service.d/xenbridge-guards.conf'), 'utf8');
    const verify = async (text: string) => {
      writeFileSync(join(units, 'nftables.service.d/xenbridge-guards.conf'), text);
      const v = await execa('systemd-analyze', ['verify', 'nftables.service'], { reject: false, env: { ...process.env, SYSTEMD_UNIT_PATH: `${units}:` } });
      return [v.exitCode, v.stderr];
    };
    expect(await verify(dropIn)).toEqual([0, '']);
    // It is read (the control): a key systemd does not know is named.
    expect(await verify(`${dropIn}Bogus=1\n`)).toEqual([0, expect.stringContaining("Unknown key 'Bogus'")]);
  });

  it('the installed hook runs the CLI it names', async () => {
    expect((await cli(['install', '--root', root])).code).toBe(0);
    const r = await execa(join(root, 'etc/xen/scripts/vif-xenbridge'), ['--help'], { reject: false, env: { PATH: '/usr/bin:/bin' } });
    // The hook contract: anything but online|offline|add|remove is a usage error, exit 1, from our CLI.
    expect([r.exitCode, r.stderr]).toEqual([1, expect.stringContaining('usage: vif-xenbridge online|offline type_if=vif')]);
  });

  it('keeps an existing topology, and the sample as shipped is a valid file that changes nothing', async () => {
    const sample = readFileSync(join(GOLDEN, 'etc/xenbridge/topology.yaml'), 'utf8');
    expect(parseTopology(sample).bridges).toEqual([]);
    mkdirSync(join(root, 'etc/xenbridge'), { recursive: true });
    writeFileSync(join(root, 'etc/xenbridge/topology.yaml'), 'version: 1 # mine\n');
    const r = await cli(['install', '--root', root]);
    expect(r.stdout).toContain(`kept (exists) ${root}/etc/xenbridge/topology.yaml`);
    expect(readFileSync(join(root, 'etc/xenbridge/topology.yaml'), 'utf8')).toBe('version: 1 # mine\n');
  });

  it('--set-default makes vif-xenbridge the default vif script and the topology\'s bridge the default bridge in xl.conf; --bin names another CLI', async () => {
    mkdirSync(join(root, 'etc/xen'), { recursive: true });
    mkdirSync(join(root, 'etc/xenbridge'), { recursive: true });
    writeFileSync(join(root, 'etc/xenbridge/topology.yaml'), 'version: 1\nbridges:\n  - name: xenbr7\n');
    writeFileSync(join(root, 'etc/xen/xl.conf'), '# xl.conf\nautoballoon="off"\n#vif.default.script="vif-bridge"\nvif.default.bridge="xenbr0"\n');
    const r = await cli(['install', '--root', root, '--set-default', '--bin', '/usr/local/bin/xenbridge']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(root, 'etc/xen/xl.conf'), 'utf8')).toBe('# xl.conf\nautoballoon="off"\n#vif.default.script="vif-bridge"\nvif.default.bridge="xenbr7"\nvif.default.script="vif-xenbridge"\n');
    expect(readFileSync(join(root, 'etc/systemd/system/xenbridge.service'), 'utf8')).toContain('ExecStart=/usr/local/bin/xenbridge apply -c /etc/xenbridge/topology.yaml\n');
    expect(readFileSync(join(root, 'etc/xen/scripts/vif-xenbridge'), 'utf8')).toContain('\nXENBRIDGE_BIN=/usr/local/bin/xenbridge\nexec ');
    expect((await cli(['install', '--root', root, '--bin', 'xen bridge'])).code).toBe(2);
  });

  it('install-hook writes the hook alone, the same as install does, and --set-default BRIDGE edits xl.conf', async () => {
    const r = await cli(['install-hook', '--root', root, '--set-default', 'xenbr1.10']);
    expect(r.code, r.stderr).toBe(0);
    expect(walk(root).map((f) => relative(root, f)).sort()).toEqual(['etc/xen/scripts/vif-xenbridge', 'etc/xen/xl.conf']);
    expect(readFileSync(join(root, 'etc/xen/scripts/vif-xenbridge'), 'utf8').replaceAll(CLI, '@BIN@')).toBe(readFileSync(join(GOLDEN, 'etc/xen/scripts/vif-xenbridge'), 'utf8'));
    expect(statSync(join(root, 'etc/xen/scripts/vif-xenbridge')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(root, 'etc/xen/xl.conf'), 'utf8')).toBe('vif.default.script="vif-xenbridge"\nvif.default.bridge="xenbr1.10"\n');
  });

  it.each([
    [[], 'xenbridge: --set-default needs the bridge for vifs without bridge=: @ROOT@/etc/xenbridge/topology.yaml does not exist'],
    [['xenbr0; reboot'], 'xenbridge: --set-default: bridge "xenbr0; reboot": interface name "xenbr0; reboot" contains "/", ":" or whitespace'],
    [['xenbr0.5000'], 'xenbridge: --set-default: bridge "xenbr0.5000": tag 5000 is not a VLAN ID (1-4094)'],
  ])('--set-default %j without a topology: one clear line, exit 2, nothing written', async (value, line) => {
    const r = await cli(['install', '--root', root, '--set-default', ...value]);
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([2, line.replace('@ROOT@', root)]);
    expect(walk(root)).toEqual([]);
  });

  it('--set-default refuses a bridge or VLAN the topology would refuse for a vif, and a topology with two bridges and none named', async () => {
    mkdirSync(join(root, 'etc/xenbridge'), { recursive: true });
    writeFileSync(join(root, 'etc/xenbridge/topology.yaml'), 'version: 1\nbridges:\n  - name: xenbr0\n    vlans: [{id: 10}]\n  - name: xenbr1\n');
    const bad = await cli(['install-hook', '--root', root, '--set-default', 'xenbr9']);
    expect([bad.code, bad.stderr.split('\n')[0]]).toEqual([2, 'xenbridge: --set-default: bridge xenbr9 is not in the topology (bridges: xenbr0, xenbr1)']);
    expect((await cli(['install-hook', '--root', root, '--set-default', 'xenbr0.20'])).code).toBe(2);
    const two = await cli(['install-hook', '--root', root, '--set-default']);
    expect([two.code, two.stderr.split('\n')[0]]).toEqual([2, `xenbridge: --set-default needs the bridge for vifs without bridge=: ${root}/etc/xenbridge/topology.yaml has 2 bridges`]);
    expect(walk(root).map((f) => relative(root, f))).toEqual(['etc/xenbridge/topology.yaml']);
    expect((await cli(['install-hook', '--root', root, '--set-default', 'xenbr0.10'])).code).toBe(0);
  });

  it.each([
    ['a file', (r: string) => { writeFileSync(join(r, 'f'), ''); return join(r, 'f'); }, 2, 'xenbridge: --root "@" is not a directory'],
    ['a missing directory', (r: string) => join(r, 'none'), 2, 'xenbridge: --root "@": no such directory'],
    ['/proc/1', () => '/proc/1', 2, 'xenbridge: --root "@" is on a kernel file system (/proc, /sys...), not a directory tree'],
    ['/sys/kernel', () => '/sys/kernel', 2, 'xenbridge: --root "@" is on a kernel file system (/proc, /sys...), not a directory tree'],
    ['a tree where etc is a file', (r: string) => { writeFileSync(join(r, 'etc'), ''); return r; }, 1, 'xenbridge: cannot make "@/etc/xen/scripts": "@/etc" is not a directory'],
    ['a tree whose etc leads into /proc', (r: string) => { symlinkSync('/proc/sys', join(r, 'etc')); return r; }, 1, 'xenbridge: cannot make "@/etc/xen/scripts": "@/etc" is on a kernel file system (/proc, /sys...), not a directory tree'],
    ['empty', () => '', 2, 'xenbridge: --root is empty: give a directory (/ for this host)'],
  ])('a --root that is %s: one line and its exit code, no hang', async (_what, make, code, line) => {
    const r = make(root);
    for (const cmd of ['install', 'install-hook']) {
      const res = await execa(CLI, [cmd, '--root', r], { reject: false, timeout: 30_000 });
      expect([res.exitCode, res.stderr.split('\n')[0], res.stderr.includes('unexpected error')]).toEqual([code, line.replaceAll('@', r), false]);
    }
  });

  it('a tree reached through /proc (a container\'s, as /proc/PID/root) is an ordinary one', async () => {
    const res = await execa(CLI, ['install-hook', '--root', `/proc/self/root${root}`], { reject: false, timeout: 30_000 });
    expect([res.exitCode, res.stderr]).toEqual([0, '']);
    expect(walk(root).map((f) => relative(root, f))).toEqual(['etc/xen/scripts/vif-xenbridge']);
  });

  it('withDefaultScript replaces an active setting and is idempotent', () => {
    const once = withDefaultScript('vif.default.script = "vif-bridge"\nlockfile="/var/lock/xl"\n');
    expect(once).toBe('vif.default.script="vif-xenbridge"\nlockfile="/var/lock/xl"\n');
    expect(withDefaultScript(once)).toBe(once);
    expect(withDefaultScript('')).toBe('vif.default.script="vif-xenbridge"\n');
    expect(withXlDefaults(once, 'xenbr1')).toBe('vif.default.script="vif-xenbridge"\nlockfile="/var/lock/xl"\nvif.default.bridge="xenbr1"\n');
    expect(withXlDefaults('  vif.default.bridge = "xenbr0" # old\n', 'br0')).toBe('vif.default.bridge="br0"\nvif.default.script="vif-xenbridge"\n');
  });
});
