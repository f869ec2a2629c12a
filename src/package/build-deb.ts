/**
 * `npm run package`: xenbridge_<version>_all.deb, built offline with dpkg-deb from the bundle, the
 * unit and hook text of src/install/files.ts, and man pages and completion generated from the CLI.
 */
import { chmodSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { XbError } from '../errors.js';
import { createRunner, type Runner } from '../exec/runner.js';
import { guardsDropIn, hookdUnit, SAMPLE_TOPOLOGY, serviceUnit, vifHook } from '../install/files.js';
import { bundle } from './bundle.js';
import { cliTree } from './cli-tree.js';
import { bashCompletion } from './completion.js';
import { BIN, SNAPSHOT_DIR, changelog, conffiles, control, copyright, GUARDS_DROP_IN, HOOK, HOOKD_UNIT, postinst, postrm, SAMPLE, UNIT, type Bundled } from './debian.js';
import { manPage5, manPage8 } from './man.js';

export interface DebOptions {
  repo: string;
  /** Where the package tree and the .deb go. */
  outDir: string;
}

const put = (root: string, path: string, data: string | Buffer, mode: number): void => {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data);
  chmodSync(file, mode);
};

const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));

/** The date of the last commit, so that the same source gives the same pages; now, outside git. */
const sourceDate = async (runner: Runner, repo: string): Promise<Date> => {
  const r = await runner.run('git', ['-C', repo, 'log', '-1', '--format=%ct']).catch(() => undefined);
  const s = r?.exitCode === 0 ? Number(r.stdout.trim()) : NaN;
  return Number.isFinite(s) && s > 0 ? new Date(s * 1000) : new Date();
};

const bundledLibs = (repo: string): Bundled[] => {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  return Object.keys(pkg.dependencies).sort().map((name) => {
    const p = JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'), 'utf8')) as Bundled;
    return { name, version: p.version, license: p.license };
  });
};

export const buildDeb = async (o: DebOptions): Promise<string> => {
  const runner = createRunner();
  const pkg = JSON.parse(readFileSync(join(o.repo, 'package.json'), 'utf8')) as { version: string; license: string };
  const root = join(o.outDir, 'pkgroot');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  await bundle({ repo: o.repo, out: join(root, 'usr/lib/xenbridge'), installed: { at: '/usr/lib/xenbridge', node: '/usr/bin/node', snapshotDir: SNAPSHOT_DIR } });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  symlinkSync('../lib/xenbridge/bin/xenbridge', join(root, 'usr/bin/xenbridge'));

  const shim = readFileSync(join(o.repo, 'hooks/vif-xenbridge'), 'utf8');
  put(root, HOOK, vifHook(shim, BIN), 0o755);
  put(root, UNIT, serviceUnit(BIN, 'package'), 0o644);
  put(root, HOOKD_UNIT, hookdUnit(BIN, 'package'), 0o644);
  put(root, GUARDS_DROP_IN, guardsDropIn(BIN, 'package'), 0o644);
  put(root, SAMPLE, SAMPLE_TOPOLOGY, 0o644);

  const date = await sourceDate(runner, o.repo);
  const page = { version: pkg.version, date: date.toISOString().slice(0, 10) };
  const tree = cliTree();
  const gz = (text: string): Buffer => gzipSync(text, { level: 9 });
  put(root, 'usr/share/man/man8/xenbridge.8.gz', gz(manPage8(tree, page)), 0o644);
  put(root, 'usr/share/man/man5/xenbridge-topology.5.gz', gz(manPage5(readFileSync(join(o.repo, 'README.md'), 'utf8'), page)), 0o644);
  put(root, 'usr/share/bash-completion/completions/xenbridge', bashCompletion(tree), 0o644);
  put(root, 'usr/share/doc/xenbridge/copyright', copyright(pkg.license, date.getUTCFullYear(), bundledLibs(o.repo)), 0o644);
  put(root, 'usr/share/doc/xenbridge/changelog.gz', gz(changelog(pkg.version, date.toUTCString().replace('GMT', '+0000'))), 0o644);
  put(root, 'usr/share/doc/xenbridge/README.md.gz', gz(readFileSync(join(o.repo, 'README.md'), 'utf8')), 0o644);

  const files = walk(root).filter((f) => !lstatSync(f).isSymbolicLink());
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  put(root, 'DEBIAN/control', control({ version: pkg.version, installedSize: Math.ceil(bytes / 1024) }), 0o644);
  put(root, 'DEBIAN/conffiles', conffiles(), 0o644);
  put(root, 'DEBIAN/postinst', postinst(), 0o755);
  put(root, 'DEBIAN/postrm', postrm(), 0o755);
  const sums = files.filter((f) => !relative(root, f).startsWith('etc/'))
    .map((f) => `${createHash('md5').update(readFileSync(f)).digest('hex')}  ${relative(root, f)}\n`).sort((a, b) => a.slice(34).localeCompare(b.slice(34)));
  put(root, 'DEBIAN/md5sums', sums.join(''), 0o644);
  for (const d of walk(root).map((f) => dirname(f))) chmodSync(d, 0o755);

  const deb = join(o.outDir, `xenbridge_${pkg.version}_all.deb`);
  // env(1) adds the one variable: the runner passes this process's environment on as it is.
  const r = await runner.run('env', [`SOURCE_DATE_EPOCH=${Math.floor(date.getTime() / 1000)}`, 'dpkg-deb', '--root-owner-group', '-Zxz', '--build', root, deb]);
  if (r.exitCode !== 0) throw new XbError('command', `dpkg-deb --build failed: ${r.stderr.trim()}`);
  return deb;
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  buildDeb({ repo, outDir: join(repo, 'build') }).then((deb) => console.log(deb), (e: Error) => {
    console.error(`package: ${e.message}`);
    process.exitCode = 1;
  });
}
