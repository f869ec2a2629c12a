/**
 * The CLI and the vif hook as one JavaScript file each (esbuild), laid out as in a checkout so that
 * the paths the code finds relative to itself hold: bin/xenbridge, dist/cli/{main,vif-main}.js,
 * hooks/vif-xenbridge and package.json (the version, and "type": "module" for the .js files).
 * Nothing is loaded from node_modules at run time.
 */
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BundleOptions {
  /** The source checkout (package.json, src/, bin/, hooks/). */
  repo: string;
  /** Where the tree goes, e.g. <pkgroot>/usr/lib/xenbridge. */
  out: string;
  /** The interpreter bin/xenbridge names (the package: Debian's /usr/bin/node). */
  node?: string;
}

/** One file per entry point: the hook's entry must not carry the whole CLI, it runs once per guest NIC. */
export const ENTRIES = { main: 'src/cli/main.ts', 'vif-main': 'src/cli/vif-main.ts' } as const;

/** Bundled CommonJS dependencies may call require() for Node's own modules; ESM has none. */
const REQUIRE_SHIM = "import { createRequire as __xbCreateRequire } from 'node:module'; const require = __xbCreateRequire(import.meta.url);";

export const bundle = async (o: BundleOptions): Promise<string[]> => {
  const { build } = await import('esbuild');
  const outdir = join(o.out, 'dist/cli');
  await build({
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([k, v]) => [k, join(o.repo, v)])),
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    legalComments: 'eof',
    banner: { js: REQUIRE_SHIM },
    logLevel: 'warning',
  });
  const pkg = JSON.parse(readFileSync(join(o.repo, 'package.json'), 'utf8')) as { name: string; version: string; license: string };
  writeFileSync(join(o.out, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, license: pkg.license, type: 'module', private: true }, null, 2)}\n`);
  mkdirSync(join(o.out, 'bin'), { recursive: true });
  mkdirSync(join(o.out, 'hooks'), { recursive: true });
  const launcher = readFileSync(join(o.repo, 'bin/xenbridge'), 'utf8');
  writeFileSync(join(o.out, 'bin/xenbridge'), o.node ? launcher.replace(/^#!.*\n/, `#!${o.node}\n`) : launcher);
  chmodSync(join(o.out, 'bin/xenbridge'), 0o755);
  copyFileSync(join(o.repo, 'hooks/vif-xenbridge'), join(o.out, 'hooks/vif-xenbridge'));
  chmodSync(join(o.out, 'hooks/vif-xenbridge'), 0o755);
  return ['bin/xenbridge', 'hooks/vif-xenbridge', 'package.json', ...Object.keys(ENTRIES).map((k) => `dist/cli/${k}.js`)];
};
