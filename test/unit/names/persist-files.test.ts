import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTopology } from '../../../src/config/validate.js';
import { renderPersist } from '../../../src/names/persist.js';
import { changesUnder, writeChanges } from '../../../src/names/persist-files.js';
import { unifiedDiff } from '../../../src/names/unified-diff.js';
import { sh } from '../../helpers/sh.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xb-persist-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const rules = (...names: string[]) =>
  parseTopology(`version: 1\nnames:\n${names.map((n, i) => `  - name: ${n}\n    match: { mac: "52:54:00:00:00:0${i}" }\n`).join('')}`, 't.yaml').names;

describe('unified diff', () => {
  const cases: [string, string, string][] = [
    ['one line changed among many', 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n', 'a\nb\nc\nd\nE\nf\ng\nh\ni\nj\n'],
    ['two hunks far apart', Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n') + '\n', Array.from({ length: 20 }, (_, i) => (i === 2 || i === 17 ? `L${i}` : `l${i}`)).join('\n') + '\n'],
    ['lines added at the end and removed at the start', 'x\ny\nz\n', 'y\nz\nw\nv\n'],
    ['everything replaced', 'MACAddress=52:54:00:00:00:01\n', 'Path=pci-0000:03:00.0\nType=ether\n'],
  ];
  it.each(cases)('%s: patch(1) turns the old text into the new', async (_n, before, after) => {
    writeFileSync(join(dir, 'f'), before);
    writeFileSync(join(dir, 'f.diff'), unifiedDiff('/f', before, after));
    await sh(`cd ${dir} && patch -s -p1 < f.diff`);
    expect(readFileSync(join(dir, 'f'), 'utf8')).toBe(after);
  });

  it('shows a new file against /dev/null with a hunk header diff(1) would write', () => {
    expect(unifiedDiff('/etc/x.link', undefined, 'a\nb\n')).toBe('--- /dev/null\n+++ b/etc/x.link\n@@ -0,0 +1,2 @@\n+a\n+b\n');
    expect(unifiedDiff('/etc/x.link', 'a\n', undefined)).toBe('--- a/etc/x.link\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n');
    expect(unifiedDiff('/etc/x.link', 'a\n', 'a\n')).toBe('');
  });
});

describe('naming files under a root', () => {
  it('creates, then finds nothing to do, then removes the file of a dropped rule but never a file it does not own', () => {
    mkdirSync(join(dir, 'etc/systemd/network'), { recursive: true });
    writeFileSync(join(dir, 'etc/systemd/network/20-admin.link'), '[Match]\n');
    const first = changesUnder(dir, renderPersist('systemd', rules('fe0', 'be0'), []));
    expect(first.map((c) => [c.path, c.before === undefined])).toEqual([
      ['/etc/systemd/network/10-xenbridge-be0.link', true], ['/etc/systemd/network/10-xenbridge-fe0.link', true],
    ]);
    writeChanges(dir, first);
    expect(changesUnder(dir, renderPersist('systemd', rules('fe0', 'be0'), []))).toEqual([]);
    const dropped = changesUnder(dir, renderPersist('systemd', rules('fe0'), []));
    expect(dropped.map((c) => [c.path, c.after === undefined])).toEqual([['/etc/systemd/network/10-xenbridge-be0.link', true]]);
    writeChanges(dir, dropped);
    expect(existsSync(join(dir, 'etc/systemd/network/10-xenbridge-be0.link'))).toBe(false);
    expect(existsSync(join(dir, 'etc/systemd/network/20-admin.link'))).toBe(true);
  });

  it('switching to udev replaces the .link files with the rules file, so one set of rules is in force', () => {
    writeChanges(dir, changesUnder(dir, renderPersist('systemd', rules('fe0'), [])));
    const udev = changesUnder(dir, renderPersist('udev', rules('fe0'), []));
    expect(udev.map((c) => [c.path, c.before === undefined ? 'create' : c.after === undefined ? 'remove' : 'update'])).toEqual([
      ['/etc/systemd/network/10-xenbridge-fe0.link', 'remove'], ['/etc/udev/rules.d/70-xenbridge-names.rules', 'create'],
    ]);
    writeChanges(dir, udev);
    expect(readFileSync(join(dir, 'etc/udev/rules.d/70-xenbridge-names.rules'), 'utf8')).toContain('ATTR{address}=="52:54:00:00:00:00", NAME="fe0"');
    expect(changesUnder(dir, renderPersist('udev', [], []))).toHaveLength(1);
  });
});
