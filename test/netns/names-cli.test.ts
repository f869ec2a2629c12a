import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNic, macOf, makeSandbox, type Sandbox } from '../helpers/netns.js';
import { cli } from '../helpers/sh.js';

let a: Sandbox;
let b: Sandbox;
let mac: string;
let tmp: string;
const file = (name: string, text: string): string => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(async () => {
  [a, b] = await Promise.all([makeSandbox(), makeSandbox()]);
  await addNic(a, 'eth1', { mac: '52:54:00:00:00:02', up: false });
  mac = await macOf(a, 'eth0');
  tmp = mkdtempSync(join(tmpdir(), 'xb-names-cli-'));
});
afterAll(async () => {
  await Promise.all([a.cleanup(), b.cleanup()]);
  rmSync(tmp, { recursive: true, force: true });
});

describe('xenbridge names', () => {
  it('prints what each rule matches now, and exits 65 when one matches nothing', async () => {
    const good = file('good.yaml', `version: 1\nnames:\n  - name: fe0\n    match: { mac: "${mac}" }\n  - name: be0\n    match: { ifname: eth1 }\n`);
    const r = await cli(['names', '-c', good, '--netns', a.dom0], a.env);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').map((l) => l.split(/\s+/).slice(0, 4).join(' '))).toEqual([
      'RULE MATCH NIC MAC', `fe0 mac ${mac} eth0`, 'be0 ifname eth1 eth1',
    ]);
    expect(r.stdout).toContain('apply renames it to fe0');
    const bad = file('bad.yaml', 'version: 1\nnames:\n  - name: fe0\n    match: { mac: "52:54:00:99:99:99" }\n');
    const j = await cli(['names', '-c', bad, '--netns', a.dom0, '--json'], a.env);
    expect(j.code).toBe(65);
    expect(JSON.parse(j.stdout).rules[0]).toMatchObject({ name: 'fe0', nic: null, problem: 'no NIC has MAC 52:54:00:99:99:99', where: `${bad}:3:5` });
  });

  it('--persist writes .link files under --root with a diff, warns about kernel-style names, and is idempotent', async () => {
    const root = join(tmp, 'root');
    mkdirSync(root); // an image's tree: --root must exist (a typo must not grow a new one)
    const cfg = file('persist.yaml', `version: 1\nnames:\n  - name: fe0\n    match: { mac: "${mac}" }\n  - name: eth9\n    match: { pci: "0000:03:00.0" }\n`);
    const first = await cli(['names', '-c', cfg, '--persist', '--root', root], a.env);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('--- /dev/null\n+++ b/etc/systemd/network/10-xenbridge-fe0.link\n@@ -0,0 +1,10 @@\n');
    expect(first.stderr).toContain(`xenbridge: warning: ${cfg}:5:5: names[1] (eth9) is a kernel-style name`);
    expect(readdirSync(join(root, 'etc/systemd/network')).sort()).toEqual(['10-xenbridge-eth9.link', '10-xenbridge-fe0.link']);
    expect(readFileSync(join(root, 'etc/systemd/network/10-xenbridge-eth9.link'), 'utf8')).toContain('[Match]\nPath=pci-0000:03:00.0\nType=ether\n\n[Link]\nName=eth9\n');
    const again = await cli(['names', '-c', cfg, '--persist', '--root', root], a.env);
    expect(again.stdout).toBe(`no changes: the systemd naming files under ${root} already match ${cfg}`);
    const udev = await cli(['names', '-c', cfg, '--persist', 'udev', '--root', root, '--dry-run', '--json'], a.env);
    expect(JSON.parse(udev.stdout).changes.map((c: { path: string; action: string }) => `${c.action} ${c.path}`)).toEqual([
      'remove /etc/systemd/network/10-xenbridge-eth9.link', 'remove /etc/systemd/network/10-xenbridge-fe0.link', 'create /etc/udev/rules.d/70-xenbridge-names.rules',
    ]);
    expect(existsSync(join(root, 'etc/udev'))).toBe(false);
    const wrong = await cli(['names', '-c', cfg, '--persist', 'netplan', '--root', root], a.env);
    expect([wrong.code, wrong.stderr.trim()]).toEqual([2, 'xenbridge: --persist must be one of systemd, udev, got "netplan"']);
  });

  it('--persist of a driver rule writes the PCI path or MAC of the NIC it matches here', async () => {
    const cfg = file('driver.yaml', 'version: 1\nnames:\n  - name: fe0\n    match: { driver: e1000e }\n');
    mkdirSync(join(tmp, 'root2'));
    const r = await cli(['names', '-c', cfg, '--netns', a.dom0, '--persist', '--root', join(tmp, 'root2')], a.env);
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([65, `xenbridge: ${cfg}:3:5: names[0] (fe0, driver e1000e index 0) must match a NIC on this host to be written down`]);
  });

  it('show --format json gives each NIC its stable name when -c names a file with rules', async () => {
    const cfg = file('show.yaml', `version: 1\nnames:\n  - name: fe0\n    match: { mac: "${mac}" }\n`);
    const withRules = JSON.parse((await cli(['show', '--netns', a.dom0, '--format', 'json', '-c', cfg], a.env)).stdout);
    expect(withRules.nics.map((n: { name: string; stableName?: string; mac: string }) => [n.name, n.mac, n.stableName])).toEqual([['eth0', mac, 'fe0'], ['eth1', '52:54:00:00:00:02', undefined]]);
    const plain = JSON.parse((await cli(['show', '--netns', a.dom0, '--format', 'json'], a.env)).stdout);
    expect(plain.nics.every((n: object) => !('stableName' in n))).toBe(true);
  });
});

describe('xenbridge compat', () => {
  it('compares two live hosts\' show output and a topology file; exit 1 with the reasons when they differ', async () => {
    const topoA = file('a.yaml', 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    mtu: 1500\n');
    const topoB = file('b.yaml', 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    mtu: 1400\n  - name: xenbr1\n    dom0: { ifname: int0 }\n');
    expect((await cli(['apply', '-c', topoA, '--netns', a.dom0], a.env)).code).toBe(0);
    expect((await cli(['apply', '-c', topoB, '--netns', b.dom0], b.env)).code).toBe(0);
    const hostA = file('hostA.json', (await cli(['show', '--netns', a.dom0, '--format', 'json'], a.env)).stdout);
    const hostB = file('hostB.json', (await cli(['show', '--netns', b.dom0, '--format', 'json'], b.env)).stdout);

    const same = await cli(['compat', hostA, topoA], a.env);
    expect([same.code, same.stdout]).toEqual([0, 'from \\ to  hostA  a\nhostA      -      ok\na          ok     -\n\nevery host can take every other host\'s domUs']);

    const diff = await cli(['compat', hostA, hostB], a.env);
    expect(diff.code).toBe(1);
    expect(diff.stdout.split('\n')).toEqual([
      'from \\ to  hostA  hostB', 'hostA      -      FAIL', 'hostB      FAIL   -', '',
      'hostA -> hostB:', '  xenbr0: MTU 1500 on hostA, 1400 on hostB', '',
      'hostB -> hostA:', '  xenbr0: MTU 1400 on hostB, 1500 on hostA', '  xenbr1: no such bridge on hostA', '',
      '2 of 2 directions cannot migrate',
    ]);
    const j = await cli(['compat', '--json', hostA, hostB], a.env);
    expect([j.code, JSON.parse(j.stdout).pairs.map((p: { from: string; to: string; ok: boolean }) => `${p.from}>${p.to} ${p.ok}`)]).toEqual([1, ['hostA>hostB false', 'hostB>hostA false']]);
    const one = await cli(['compat', hostA], a.env);
    expect([one.code, one.stderr.split('\n')[0]]).toEqual([2, 'xenbridge: compat needs at least two hosts\' files, got 1']);
  });
});
