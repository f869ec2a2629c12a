/**
 * Generated bad topology files: every one is refused by validation with its location and no stack,
 * in bounded time and memory; a sample (and every special file) through `xenbridge apply` leaves
 * the namespace and the run directory byte for byte as they were.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/config/validate.js';
import { isXbError, type XbError } from '../../src/errors.js';
import { makeSandbox, type Sandbox } from '../helpers/netns.js';
import { sh } from '../helpers/sh.js';
import { expectOneClearLine, nsSnapshot, pool, runCli, treeSnapshot } from './checks.js';
import { BASE, BOND_BASE, fileCases, V6_BASE } from './gen-file.js';

const cases = fileCases();
let dir: string;
let special: { name: string; path: string }[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xenbridge-hostile-'));
  cases.forEach((c, i) => writeFileSync(join(dir, `case${i}.yaml`), c.text));
  await sh(`mkfifo ${dir}/fifo`);
  mkdirSync(join(dir, 'adir'));
  symlinkSync('/dev/zero', join(dir, 'zero-link'));
  symlinkSync(join(dir, 'loop-b'), join(dir, 'loop-a'));
  symlinkSync(join(dir, 'loop-a'), join(dir, 'loop-b'));
  special = [
    { name: 'FIFO with no writer', path: join(dir, 'fifo') },
    { name: '/dev/zero', path: '/dev/zero' },
    { name: '/dev/urandom', path: '/dev/urandom' },
    { name: '/dev/null', path: '/dev/null' },
    { name: 'symlink to /dev/zero', path: join(dir, 'zero-link') },
    { name: 'symlink loop', path: join(dir, 'loop-a') },
    { name: 'directory', path: join(dir, 'adir') },
    { name: 'missing file', path: join(dir, 'missing.yaml') },
  ];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const refusal = (file: string): { err: XbError; ms: number } => {
  const t0 = Date.now();
  try {
    loadTopology(file);
  } catch (e) {
    if (!isXbError(e)) throw new Error(`${file}: not an XbError: ${(e as Error).stack}`);
    return { err: e, ms: Date.now() - t0 };
  }
  throw new Error(`${file} was accepted`);
};

describe('generated bad topology files', () => {
  it('the base file they are spoiled from is valid', () => {
    writeFileSync(join(dir, 'base.yaml'), stringify(BASE));
    expect(loadTopology(join(dir, 'base.yaml')).bridges[0]?.name).toBe('xenbr0');
    writeFileSync(join(dir, 'bond-base.yaml'), stringify(BOND_BASE));
    expect(loadTopology(join(dir, 'bond-base.yaml')).bonds[0]?.members).toEqual(['eth1', 'eth2']);
    writeFileSync(join(dir, 'v6-base.yaml'), stringify(V6_BASE));
    expect(loadTopology(join(dir, 'v6-base.yaml')).bridges[0]?.dom0).toMatchObject({ dhcp: true, slaac: true, dhcp6: true, addresses: ['2001:db8::10/64'] });
  });

  it(`each of ${cases.length} is a config error located at file:line:col, in bounded time and memory`, () => {
    const rss0 = process.memoryUsage().rss;
    const counts: Record<string, number> = {};
    for (const [i, c] of cases.entries()) {
      const file = join(dir, `case${i}.yaml`);
      const label = `${c.category}: ${c.name}`;
      const { err, ms } = refusal(file);
      expect(err.kind, label).toBe('config');
      expect(err.message, label).not.toMatch(/\n/);
      for (const p of err.problems) expect(p.message, label).not.toMatch(/\n/);
      const wheres = err.problems.map((p) => p.where ?? '');
      // A problem with the file itself (size, encoding) names the file; one in its text says where.
      expect(wheres.length > 0 || err.message.includes(file), `${label}: ${err.message}`).toBe(true);
      for (const w of wheres) expect(w, label).toMatch(new RegExp(`^${file}:\\d+:\\d+$`));
      if (c.line !== undefined) expect(wheres.some((w) => w.startsWith(`${file}:${c.line}:`)), `${label}: ${JSON.stringify(err.problems)}`).toBe(true);
      expect(ms, label).toBeLessThan(10_000);
      counts[c.category] = (counts[c.category] ?? 0) + 1;
    }
    expect(process.memoryUsage().rss - rss0).toBeLessThan(200 * 1024 * 1024);
    expect(cases.length).toBeGreaterThanOrEqual(300);
    console.log(`bad files by category: ${JSON.stringify(counts)}`);
  });

  it('special files are refused at once without reading them whole', () => {
    const rss0 = process.memoryUsage().rss;
    for (const s of special) {
      const { err, ms } = refusal(s.path);
      expect([err.kind, err.message.includes(s.path)], s.name).toEqual(['config', true]);
      expect(ms, s.name).toBeLessThan(10_000);
    }
    expect(process.memoryUsage().rss - rss0).toBeLessThan(50 * 1024 * 1024);
  });
});

describe('through the CLI: apply refuses with exit 65 and changes nothing', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await makeSandbox();
  });
  afterAll(async () => sb.cleanup());

  it('a sample of the generated files and every special file', async () => {
    const sample = [
      ...cases.flatMap((c, i) => (c.name === 'complex key' ? [{ path: join(dir, `case${i}.yaml`), name: c.name }] : [])),
      ...cases.flatMap((c, i) => (i % 40 === 0 || (c.category !== 'names' && c.category !== 'numbers' && c.category !== 'types' && c.category !== 'structure' && i % 4 === 0) ? [{ path: join(dir, `case${i}.yaml`), name: `${c.category}: ${c.name}` }] : [])),
      ...special,
    ];
    const before = await nsSnapshot(sb.dom0);
    const runBefore = treeSnapshot(sb.runDir);
    const results = await pool(sample, 4, (s) => runCli(['apply', '-c', s.path, '--netns', sb.dom0], sb.env));
    results.forEach((r, i) => {
      const s = sample[i]!;
      const lines = expectOneClearLine(r, s.name);
      expect(r.code, `${s.name}: ${r.stderr}`).toBe(65);
      // A problem in the text is located at file:line:col; one with the file itself names the file.
      const located = lines[1]?.startsWith(`  ${s.path}:`) === true && /^ {2}\S+:\d+:\d+: /.test(lines[1]);
      expect(located || lines[0]!.includes(s.path), `${s.name}: ${r.stderr}`).toBe(true);
    });
    expect(await nsSnapshot(sb.dom0)).toBe(before);
    expect(treeSnapshot(sb.runDir)).toBe(runBefore);
    console.log(`bad files through the CLI: ${sample.length}`);
  }, 600_000);
});
