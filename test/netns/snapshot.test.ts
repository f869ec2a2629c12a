// The CLI's startup snapshot, through bin/xenbridge run as a program (as /usr/bin/xenbridge is):
// made in the background after a command that succeeded, used only when its stamps match this
// node, this bundle and this boot, and never in the way of a command. Each test has its own copy
// of the built tree (bin/, dist/cli/, package.json), so its snapshot directory is its own.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { chownSync, cpSync, existsSync, statSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { ROOT } from '../helpers/sh.js';
import { until, WAIT_MS } from '../helpers/snapshot-wait.js';

const BOOT = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const TOPOLOGY = 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    dom0: {ifname: xenbr0-h}\n';

let tree: string;
let snaps: string;
let mine: string;
let sb: Sandbox;
let cfg: string;

beforeEach(async () => {
  tree = mkdtempSync(join(tmpdir(), 'xenbridge-snaptree-'));
  cpSync(join(ROOT, 'bin'), join(tree, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(tree, 'package.json'));
  mkdirSync(join(tree, 'dist'));
  cpSync(join(ROOT, 'dist/cli'), join(tree, 'dist/cli'), { recursive: true, filter: (src) => !src.startsWith(join(ROOT, 'dist/cli/snapshot/')) && src !== join(ROOT, 'dist/cli/snapshot') });
  snaps = join(tree, 'dist/cli/snapshot');
  mine = join(snaps, BOOT);
  ({ sb, cfg } = await sandboxWithTopology(TOPOLOGY));
});
afterEach(async () => {
  await sb.cleanup();
  // A builder may still be running (a test that does not wait for one): it fails without the tree.
  rmSync(tree, { recursive: true, force: true });
});

/** bin/xenbridge as a program under `sh -x`: its trace says which exec it took. */
const xb = async (args: string[], env: Record<string, string> = {}) => {
  const r = await execa('sh', ['-x', join(tree, 'bin/xenbridge'), ...args], { reject: false, env: { ...sb.env, ...env }, extendEnv: false, stdin: 'ignore' });
  const exec = r.stderr.split('\n').filter((l) => l.startsWith('+ exec ')).pop() ?? '';
  return { code: r.exitCode, stdout: r.stdout, errors: r.stderr.split('\n').filter((l) => !l.startsWith('+ ')), fromSnapshot: exec.includes('--snapshot-blob'), exec };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Until this boot's snapshot is in place and no claim is left. */
const builtNow = async (): Promise<void> => {
  await until(tree, () => existsSync(join(mine, 'cli.blob')) && !existsSync(`${mine}.new`));
  expect(readdirSync(mine).sort()).toEqual(['cli.blob', 'entry', 'node']);
};

/** Until no builder naming dir (this tree's snapshots by default) runs. */
const noBuilder = async (dir = snaps): Promise<void> => {
  await until(tree, async () => (await execa('pgrep', ['-f', `sh ${dir}/`], { reject: false })).exitCode !== 0);
};

const built = async (): Promise<void> => {
  const r = await xb(['--help']);
  expect(r.code).toBe(0);
  expect(r.fromSnapshot).toBe(false);
  await builtNow();
};

/** The same command line without the snapshot: what the snapshot's run must match. */
const same = async (args: string[]) => {
  const [a, b] = [await xb(args), await xb(args, { XENBRIDGE_NO_SNAPSHOT: '1' })];
  expect(a.fromSnapshot).toBe(true);
  expect(b.fromSnapshot).toBe(false);
  expect({ code: a.code, stdout: a.stdout, errors: a.errors }).toEqual({ code: b.code, stdout: b.stdout, errors: b.errors });
  return a;
};

describe('the startup snapshot', { timeout: WAIT_MS + 60_000 }, () => {
  it('is made after a command that succeeded, and the next commands start from it with the same results', async () => {
    await built();
    expect(await xb(['--help'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: xenbridge /), fromSnapshot: true, errors: [] });
    // --version reads package.json only: loading the snapshot would cost more than that.
    const v = await xb(['--version']);
    expect(v).toMatchObject({ code: 0, stdout: VERSION, fromSnapshot: false, errors: [] });
    expect(v.exec).toMatch(/ \S+\/bin\/version\.cjs$/);

    const apply = await xb(['apply', '-c', cfg, '--netns', sb.dom0]);
    expect(apply.errors).toEqual([]);
    expect(apply).toMatchObject({ code: 0, fromSnapshot: true });
    expect(await sb.ip('-br link show xenbr0')).toMatch(/^xenbr0\s+UP/);
    expect(await xb(['verify', '-c', cfg, '--netns', sb.dom0])).toMatchObject({ code: 0, fromSnapshot: true });
    expect((await xb(['plan', '-c', cfg, '--netns', sb.dom0])).stdout).toMatch(/no changes/);

    expect(await same(['apply', '-c', cfg, '--netns', sb.dom0, '--no-such-flag'])).toMatchObject({ code: 2, errors: ["xenbridge: unknown option '--no-such-flag'", '  see xenbridge --help'] });
    expect((await same(['show', '--netns', sb.dom0])).code).toBe(0);
    writeFileSync(cfg, 'version: 1\nbridges:\n  - name: xenbr0\n    mtu: lots\n');
    const file = await same(['apply', '-c', cfg, '--netns', sb.dom0]);
    expect(file.code).toBe(65);
    expect(file.errors[1]).toMatch(new RegExp(`^  ${cfg}:4:\\d+: `));
    expect(file.errors.join('\n')).not.toMatch(/\n\s+at /);
    expect(await sb.ip('-br link show xenbr0')).toMatch(/^xenbr0\s+UP/);
  });

  it('is not made after a command that failed', async () => {
    expect(await xb(['no-such-command'])).toMatchObject({ code: 2, fromSnapshot: false });
    expect(await xb(['apply', '-c', join(tree, 'missing.yaml'), '--netns', sb.dom0])).toMatchObject({ code: 65, fromSnapshot: false });
    // Nothing to wait for but time: a builder would have claimed the directory within it, and one
    // slowed by a loaded machine would still be running.
    await sleep(2000);
    expect(existsSync(snaps)).toBe(false);
    expect((await execa('pgrep', ['-f', `sh ${snaps}/`], { reject: false })).exitCode).toBe(1);
  });

  it('is not used when its node or its bundle is not the one running, and is made again', async () => {
    await built();
    const stamp = join(mine, 'node');
    utimesSync(stamp, new Date(0), new Date(1_000_000_000));
    const r = await xb(['--help']);
    expect(r).toMatchObject({ code: 0, fromSnapshot: false });
    await until(tree, async () => (await xb(['--help'])).fromSnapshot);
    expect((await xb(['--help'])).fromSnapshot).toBe(true);

    // A rebuilt bundle with the mtime of the one before (the package's are its commit's): a
    // snapshot of the old code must not run.
    const entry = join(tree, 'dist/cli/snapshot.cjs');
    const was = join(tree, 'mtime');
    await execa('touch', ['-r', entry, was]);
    const code = `${readFileSync(entry, 'utf8')}\n// patched\n`;
    writeFileSync(entry, code);
    writeFileSync(join(tree, 'dist/cli/snapshot.id'), `${createHash('sha256').update(code).digest('hex')}\n`);
    await execa('touch', ['-r', was, entry]);
    expect(await xb(['no-such-command'])).toMatchObject({ code: 2, fromSnapshot: false });
  });

  it('is left in place by a command that started before it was made, and one without its stamps is not used', async () => {
    await built();
    const ino = statSync(join(mine, 'cli.blob')).ino;
    // What the launcher handed such a command; the builder it starts ends on its own.
    expect((await execa('node', [join(tree, 'bin/xenbridge'), '--help'], { reject: false, env: { ...sb.env, XENBRIDGE_SNAPSHOT_BUILD: mine } })).exitCode).toBe(0);
    await noBuilder();
    expect(statSync(join(mine, 'cli.blob')).ino).toBe(ino);
    expect(existsSync(`${mine}.new`)).toBe(false);
    // What a kill in the middle of replacing a snapshot could leave.
    rmSync(join(mine, 'node'));
    rmSync(join(mine, 'entry'));
    expect(await xb(['no-such-command'])).toMatchObject({ code: 2, fromSnapshot: false });
  });

  it('a command that succeeded still succeeds when its builder cannot start (no sh on PATH)', async () => {
    const only = join(tree, 'only-node');
    mkdirSync(only);
    await execa('ln', ['-s', process.execPath, join(only, 'node')]);
    const r = await execa('/bin/sh', [join(tree, 'bin/xenbridge'), '--help'], { reject: false, env: { PATH: only }, extendEnv: false });
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
  });

  it('a XENBRIDGE_SNAPSHOT_BUILD naming another place, left in an environment, removes nothing there that is not a snapshot', async () => {
    const elsewhere = join(tree, 'elsewhere/snapshot');
    const other = join(elsewhere, '00000000-0000-4000-8000-000000000000');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'disk.img'), 'a guest');
    writeFileSync(join(elsewhere, '00000000-0000-4000-8000-000000000001.img'), 'a guest');
    for (const env of [{ XENBRIDGE_NO_SNAPSHOT: '1' }, {}]) {
      const r = await execa('sh', [join(tree, 'bin/xenbridge'), '--help'], { reject: false, env: { ...sb.env, ...env, XENBRIDGE_SNAPSHOT_BUILD: join(elsewhere, BOOT) } });
      expect(r.exitCode).toBe(0);
    }
    expect((await execa('node', [join(tree, 'bin/xenbridge'), '--help'], { reject: false, env: { ...sb.env, XENBRIDGE_SNAPSHOT_BUILD: join(elsewhere, BOOT) } })).exitCode).toBe(0);
    await noBuilder(elsewhere);
    await builtNow();
    expect(readdirSync(elsewhere).filter((n) => n !== BOOT).sort()).toEqual(['00000000-0000-4000-8000-000000000000', '00000000-0000-4000-8000-000000000001.img']);
    expect(readdirSync(other)).toEqual(['disk.img']);
  });

  it('is private to its owner, and one owned by another user is not used: a snapshot is code', async () => {
    await built();
    expect(statSync(mine).mode & 0o777).toBe(0o700);
    expect(statSync(join(mine, 'cli.blob')).mode & 0o777).toBe(0o600);
    chownSync(join(mine, 'cli.blob'), 65534, 65534);
    expect(await xb(['no-such-command'])).toMatchObject({ code: 2, fromSnapshot: false });
    chownSync(join(mine, 'cli.blob'), 0, 0);
    chownSync(mine, 65534, 65534);
    expect(await xb(['no-such-command'])).toMatchObject({ code: 2, fromSnapshot: false });
    // bin/version.cjs is code too: owned by another user, --version is answered by bin/xenbridge itself.
    chownSync(join(tree, 'bin/version.cjs'), 65534, 65534);
    const v = await xb(['--version']);
    expect(v).toMatchObject({ code: 0, stdout: VERSION, fromSnapshot: false, errors: [] });
    expect(v.exec).toMatch(/ \S+\/bin\/xenbridge --version$/);
  });

  it('is not used under NODE_OPTIONS (V8 flags it was not made with would end node before our code runs), XENBRIDGE_NO_SNAPSHOT or for a vif event', async () => {
    await built();
    expect(await xb(['no-such-command'], { NODE_OPTIONS: '--max-old-space-size=200' })).toMatchObject({ code: 2, fromSnapshot: false });
    expect(await xb(['no-such-command'], { XENBRIDGE_NO_SNAPSHOT: '1' })).toMatchObject({ code: 2, fromSnapshot: false });
    expect(await xb(['vif'])).toMatchObject({ code: 1, fromSnapshot: false });
  });

  it("removes other boots' snapshots and nothing else when it makes one", async () => {
    const other = join(snaps, '00000000-0000-4000-8000-000000000000');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'cli.blob'), 'not a snapshot');
    writeFileSync(join(snaps, 'keep'), '');
    await built();
    expect(readdirSync(snaps).sort()).toEqual([BOOT, 'keep']);
  });

  it('leaves the claim of a builder that was killed alone for 10 minutes, then takes it over', async () => {
    mkdirSync(`${mine}.new`, { recursive: true });
    expect((await xb(['--help'])).code).toBe(0);
    await sleep(3000);
    expect(existsSync(mine)).toBe(false);
    expect(existsSync(`${mine}.new`)).toBe(true);
    const old = new Date(Date.now() - 11 * 60_000);
    utimesSync(`${mine}.new`, old, old);
    await built();
    expect(existsSync(`${mine}.new`)).toBe(false);
  });

  it('on a full file system: the command is not disturbed, no snapshot is used, and the claim stays', async () => {
    mkdirSync(snaps);
    // The build is seen to start, then to end (or 60 s pass).
    const script = `mount -t tmpfs -o size=256k xbsnap "$1" && sh -x "$2" --help >/dev/null 2>"$3/trace" && echo "rc=$?" && ` +
      `for i in $(seq 600); do pgrep -f "snapshot-blob $3/bin/../dist/cli/snapshot/" >/dev/null && break; sleep 0.1; done; ` +
      `for i in $(seq 600); do pgrep -f "snapshot-blob $3/bin/../dist/cli/snapshot/" >/dev/null || break; sleep 0.1; done; ls -A "$1" "$1/${BOOT}.new"; sh -x "$2" no-such-command 2>&1`;
    const r = await execa('unshare', ['-m', 'sh', '-c', script, 'sh', snaps, join(tree, 'bin/xenbridge'), tree], { reject: false, env: sb.env });
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('rc=0');
    expect(lines).toContain(`${BOOT}.new`);
    expect(lines).not.toContain(BOOT);
    expect(lines.filter((l) => l.startsWith('+ exec ')).pop()).not.toMatch(/snapshot-blob/);
    expect(lines).toContain("xenbridge: unknown command 'no-such-command'");
  });

  it('through a symlinked directory, install names the same bin/xenbridge from the snapshot as without', async () => {
    await built();
    cpSync(join(ROOT, 'hooks'), join(tree, 'hooks'), { recursive: true });
    const link = `${tree}-link`;
    await execa('ln', ['-s', tree, link]);
    try {
      const named = async (env: Record<string, string>) => {
        const root = mkdtempSync(join(tree, 'root-'));
        const r = await execa('sh', ['-x', join(link, 'bin/xenbridge'), 'install', '--root', root], { reject: false, env: { ...sb.env, ...env } });
        return { code: r.exitCode, fromSnapshot: r.stderr.includes('--snapshot-blob'), bin: /the unit and the hook run (\S+)/.exec(r.stdout)?.[1] };
      };
      expect(await named({})).toEqual({ code: 0, fromSnapshot: true, bin: join(tree, 'bin/xenbridge') });
      expect(await named({ XENBRIDGE_NO_SNAPSHOT: '1' })).toEqual({ code: 0, fromSnapshot: false, bin: join(tree, 'bin/xenbridge') });
    } finally {
      rmSync(link);
    }
  });

  it('through a symlink to bin/xenbridge the command runs, from the bundle', async () => {
    const link = join(tree, 'xenbridge-link');
    await execa('ln', ['-s', join(tree, 'bin/xenbridge'), link]);
    const r = await execa(link, ['--version'], { reject: false, env: sb.env });
    expect(r).toMatchObject({ exitCode: 0, stdout: VERSION });
  });
});
