/**
 * The CLI and the vif hook as one JavaScript file each (esbuild), laid out as in a checkout so that
 * the paths the code finds relative to itself hold: bin/xenbridge (and version.cjs), dist/cli/{main,vif-main}.js,
 * hooks/vif-xenbridge and package.json (the version, and "type": "module" for the .js files).
 * Nothing is loaded from node_modules at run time.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Plugin } from 'esbuild';

export interface BundleOptions {
  /** The source checkout (package.json, src/, bin/, hooks/). */
  repo: string;
  /** Where the tree goes, e.g. <pkgroot>/usr/lib/xenbridge. */
  out: string;
  /**
   * Where the tree is installed, the node binary it runs with and where its startup snapshots are
   * made (the package: /usr/lib/xenbridge, Debian's /usr/bin/node, /var/cache/xenbridge/snapshot);
   * without, bin/xenbridge finds its tree from its own path and node on PATH.
   */
  installed?: { at: string; node: string; snapshotDir: string };
}

/** One file per entry point: the hook's entry must not carry the whole CLI, it runs once per guest NIC. */
export const ENTRIES = { main: 'src/cli/main.ts', 'vif-main': 'src/cli/vif-main.ts' } as const;
const SNAPSHOT_ENTRY = 'src/cli/snapshot-main.ts';

/** Bundled CommonJS dependencies may call require() for Node's own modules; ESM has none. */
const REQUIRE_SHIM = "import { createRequire as __xbCreateRequire } from 'node:module'; const require = __xbCreateRequire(import.meta.url);";

/**
 * Node's own modules through require(), not import: importing one as ESM reads every export it has,
 * and some are getters that load more (node:crypto's webcrypto, node:fs's promises): at start-up
 * 8 ms of CPU for node:crypto alone, against well under one through require().
 */
const builtinsByRequire: Plugin = {
  name: 'builtins-by-require',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (a) => (a.namespace === 'builtin' ? { path: a.path, external: true } : { path: a.path, namespace: 'builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (a) => ({ contents: `module.exports = require(${JSON.stringify(a.path)});`, loader: 'js' }));
  },
};

export interface EntryOptions {
  minify: boolean;
  splitting: boolean;
}

/**
 * Node's modules that Node does not vouch for in a snapshot's heap ("not yet fully verified"):
 * each is required on first use, after the snapshot is loaded, through getters for every export.
 */
const LAZY_IN_SNAPSHOT = ['node:child_process'];

const lazyBuiltins: Plugin = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (a) => (LAZY_IN_SNAPSHOT.includes(a.path) && a.namespace !== 'lazy' ? { path: a.path, namespace: 'lazy' } : { path: a.path, external: true }));
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, (a) => {
      const keys = Object.keys(createRequire(import.meta.url)(a.path) as object);
      const getters = keys.map((k) => `get ${JSON.stringify(k)}() { return (m ??= require(${JSON.stringify(a.path)}))[${JSON.stringify(k)}]; }`);
      return { contents: `let m;\nmodule.exports = { ${getters.join(', ')} };`, loader: 'js' };
    });
  },
};

/**
 * dist/cli/snapshot.cjs: the whole CLI as one CommonJS script, what `node --build-snapshot` takes.
 * import.meta.url becomes the path bin/xenbridge hands it as main.js's, so what the code finds
 * relative to itself is where it is for the bundled entries.
 */
const bundleSnapshotEntry = async (repo: string, outdir: string, o: EntryOptions, buildId: Record<string, string>): Promise<void> => {
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(repo, SNAPSHOT_ENTRY)],
    outfile: join(outdir, 'snapshot.cjs'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Less source held in the heap is less to load; names stay, for --debug's stacks.
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: o.minify,
    legalComments: 'eof',
    plugins: [lazyBuiltins],
    define: { ...buildId, 'import.meta.url': 'globalThis.__xbModuleUrl' },
    logLevel: 'warning',
  });
  // What bin/xenbridge knows a snapshot's bundle by: its content, not its mtime, which the package
  // clamps to its commit's (two builds of one commit, one of them patched, share it).
  const digest = createHash('sha256').update(readFileSync(join(outdir, 'snapshot.cjs'))).digest('hex');
  writeFileSync(join(outdir, 'snapshot.id'), `${digest}\n`);
};

/** The sources' digest: the same sources give the same build (a reproducible package), any change another. */
const sourceId = (repo: string): string => {
  const h = createHash('sha256');
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(repo, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(rel, e.name);
      if (e.isDirectory()) walk(p);
      else h.update(`${p}\0`).update(readFileSync(join(repo, p))).update('\0');
    }
  };
  walk('src');
  // The bundled libraries' exact versions are in the lock file.
  for (const f of ['package.json', 'package-lock.json']) if (existsSync(join(repo, f))) h.update(readFileSync(join(repo, f)));
  return h.digest('hex').slice(0, 16);
};

/**
 * A chunk an earlier build left (chunkNames below: a module's name and esbuild's 8-character hash);
 * tsc's own modules beside them (run.js, snapshot-build.js) have no hash.
 */
export const isChunk = (name: string): boolean => /^[a-z][a-z0-9-]*-[A-Z0-9]{8}\.js$/.test(name);

/**
 * The entries as bundled files in outdir. With splitting, what a command imports on use lands in
 * chunk-*.js files and loads only when that command runs (the checkout's build); without, each entry is one file.
 */
export const bundleEntries = async (repo: string, outdir: string, o: EntryOptions): Promise<void> => {
  const { build } = await import('esbuild');
  // One identity for what this call bundles: a topology cached by the CLI is valid for its snapshot too.
  const buildId = { XB_BUILD_ID: JSON.stringify(sourceId(repo)) };
  // Chunks sit beside the entries: the code finds package.json, bin/ and hooks/ two levels up from itself.
  if (o.splitting) for (const f of readdirSync(outdir).filter(isChunk)) rmSync(join(outdir, f));
  await build({
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([k, v]) => [k, join(repo, v)])),
    outdir,
    bundle: true,
    splitting: o.splitting,
    chunkNames: '[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: o.minify,
    legalComments: 'eof',
    banner: { js: REQUIRE_SHIM },
    plugins: [builtinsByRequire],
    define: buildId,
    logLevel: 'warning',
  });
  await bundleSnapshotEntry(repo, outdir, o, buildId);
};

/** bin/xenbridge with its paths fixed: a symlink (/usr/bin/xenbridge) does not tell where the tree is. */
export const installedLauncher = (text: string, i: { at: string; node: string; snapshotDir: string }): string => {
  const line = /^':' \/\/; R=.*$/m;
  if (!line.test(text)) throw new Error('bin/xenbridge: no path line to fix');
  return text.replace(line, `':' //; R=${i.at} N=${i.node} C=${i.snapshotDir}`);
};

export const bundle = async (o: BundleOptions): Promise<string[]> => {
  await bundleEntries(o.repo, join(o.out, 'dist/cli'), { minify: true, splitting: false });
  const pkg = JSON.parse(readFileSync(join(o.repo, 'package.json'), 'utf8')) as { name: string; version: string; license: string };
  writeFileSync(join(o.out, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, license: pkg.license, type: 'module', private: true }, null, 2)}\n`);
  mkdirSync(join(o.out, 'bin'), { recursive: true });
  mkdirSync(join(o.out, 'hooks'), { recursive: true });
  const launcher = readFileSync(join(o.repo, 'bin/xenbridge'), 'utf8');
  writeFileSync(join(o.out, 'bin/xenbridge'), o.installed ? installedLauncher(launcher, o.installed) : launcher);
  chmodSync(join(o.out, 'bin/xenbridge'), 0o755);
  copyFileSync(join(o.repo, 'bin/version.cjs'), join(o.out, 'bin/version.cjs'));
  copyFileSync(join(o.repo, 'hooks/vif-xenbridge'), join(o.out, 'hooks/vif-xenbridge'));
  chmodSync(join(o.out, 'hooks/vif-xenbridge'), 0o755);
  return ['bin/xenbridge', 'bin/version.cjs', 'hooks/vif-xenbridge', 'package.json', ...Object.keys(ENTRIES).map((k) => `dist/cli/${k}.js`), 'dist/cli/snapshot.cjs', 'dist/cli/snapshot.id'];
};
