import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dump, makeSandbox, type Sandbox } from '../helpers/netns.js';
import { cli } from '../helpers/sh.js';

let sb: Sandbox;
const file = (name: string, text: string): string => {
  const p = join(sb.runDir, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(async () => {
  sb = await makeSandbox();
});
afterAll(async () => sb.cleanup());

describe('CLI contract: exit codes by error kind, nothing changed on bad input', () => {
  it('an invalid file exits 65, lists every problem with its location, and changes nothing', async () => {
    const before = await dump(sb.dom0);
    const bad = file('bad.yaml', 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n    vlans:\n      - id: 5000\n      - id: 10\n        addresses: [10.0.0.1]\n');
    const r = await cli(['apply', '-c', bad, '--netns', sb.dom0], sb.env);
    expect(r.code).toBe(65);
    expect(r.stderr.split('\n')[0]).toBe(`xenbridge: ${bad}: 2 problems; nothing was changed`);
    expect(r.stderr).toContain(`${bad}:6:13: bridges[0].vlans[0].id: VLAN ID must be an integer from 1 to 4094, got 5000`);
    expect(r.stderr).toContain(`${bad}:8:21: bridges[0].vlans[1].addresses[0]`);
    expect(await dump(sb.dom0)).toBe(before);
  });

  it('a missing file exits 65 and says where the default comes from', async () => {
    const r = await cli(['plan', '-c', '/nonexistent/topology.yaml', '--netns', sb.dom0], sb.env);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain('cannot read topology file /nonexistent/topology.yaml (ENOENT)');
  });

  it('XENBRIDGE_CONFIG names the file when -c is absent', async () => {
    const good = file('env.yaml', 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n');
    const r = await cli(['plan', '--netns', sb.dom0], { ...sb.env, XENBRIDGE_CONFIG: good });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ip link add name xenbr0');
  });

  it("node's own environment cannot add to what a command prints: NODE_EXTRA_CA_CERTS naming a bad file", async () => {
    // node warns of a bundle it cannot load, on stderr, late in the run; xenbridge makes no TLS connection.
    const good = file('ca.yaml', 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n');
    const env = { ...sb.env, NODE_EXTRA_CA_CERTS: join(sb.runDir, 'no-such-bundle.pem') };
    expect(await cli(['plan', '-c', good, '--netns', sb.dom0], env)).toMatchObject({ code: 0, stderr: '' });
    const missing = ['plan', '-c', join(sb.runDir, 'missing.yaml'), '--netns', sb.dom0];
    expect(await cli(missing, env)).toEqual(await cli(missing, sb.env));
  });

  it('usage errors exit 2: unknown command, bad --format, bad or missing namespace', async () => {
    expect((await cli(['frobnicate'], sb.env)).code).toBe(2);
    const good = file('g.yaml', 'version: 1\n');
    const fmt = await cli(['plan', '-c', good, '--netns', sb.dom0, '--format', 'xml'], sb.env);
    expect([fmt.code, fmt.stderr.trim()]).toEqual([2, 'xenbridge: --format must be one of text, json, sh, got "xml"']);
    const bad = await cli(['show', '--netns', '../etc'], sb.env);
    expect([bad.code, bad.stderr.split('\n')[0]]).toEqual([2, 'xenbridge: --netns: "../etc" is not a network namespace name (1-64 of A-Z a-z 0-9 _ . -, not starting with . or -)']);
    for (const cmd of ['show', 'status', 'stop', 'confirm', 'rollback']) {
      const missing = await cli([cmd, '--netns', 'xb-no-such-ns'], sb.env);
      expect([missing.code, missing.stderr.split('\n')[0]], cmd).toEqual([2, 'xenbridge: --netns: network namespace xb-no-such-ns does not exist']);
      expect(existsSync(join(sb.runDir, 'netns-xb-no-such-ns')), cmd).toBe(false);
    }
  });

  it('an uplink that does not exist is a state error naming the NICs there are', async () => {
    const f = file('nouplink.yaml', 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth9\n');
    const r = await cli(['plan', '-c', f, '--netns', sb.dom0], sb.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`xenbridge: ${f}:4:13: uplink eth9 does not exist\n  NICs here: eth0`);
  });

  it('verify exits 3 when the live state differs and 0 once applied; --json is stable', async () => {
    const f = file('v.yaml', 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n');
    const before = await cli(['verify', '-c', f, '--netns', sb.dom0, '--json'], sb.env);
    expect(before.code).toBe(3);
    const rep = JSON.parse(before.stdout);
    expect(Object.keys(rep)).toEqual(['ok', 'differences', 'findings']);
    expect(rep.ok).toBe(false);
    expect(rep.differences.filter((d: string) => /^ip link add name xenbr0 address \S+ type bridge stp_state 0 forward_delay 0$/.test(d))).toHaveLength(1);
    expect((await cli(['apply', '-c', f, '--netns', sb.dom0], sb.env)).code).toBe(0);
    const after = await cli(['verify', '-c', f, '--netns', sb.dom0, '--json'], sb.env);
    expect([after.code, JSON.parse(after.stdout)]).toEqual([0, { ok: true, differences: [], findings: [] }]);
    expect((await cli(['stop', '--netns', sb.dom0], sb.env)).code).toBe(0);
  });

  it('a failed apply exits 4 (rolled back) and says which step failed', async () => {
    const f = file('fp.yaml', 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n');
    const r = await cli(['apply', '-c', f, '--netns', sb.dom0], { ...sb.env, XENBRIDGE_FAILPOINT: '2' });
    expect(r.code).toBe(4);
    expect(r.stderr.split('\n').slice(0, 2)).toEqual([
      'xenbridge: apply failed at step 3 of 17; the host was restored',
      expect.stringMatching(/^ {2}ip link add name eth0 .* type veth peer name xenbr0-d0 /),
    ]);
  });

  it('plan --format sh prints runnable ip commands for the namespace', async () => {
    const f = file('sh.yaml', 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n');
    const r = await cli(['plan', '-c', f, '--netns', sb.dom0, '--format', 'sh'], sb.env);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual(['#!/bin/sh', '# generated by xenbridge plan --format sh', 'set -e']);
    expect(lines[3]).toMatch(new RegExp(`^ip -n ${sb.dom0} link add name xenbr0 .*type bridge `));
    expect(lines).toContain(`ip -n ${sb.dom0} route del default via 192.0.2.1 dev peth0`);
  });

  it('two applies at once are serialised by the lock: both succeed, the second finds nothing to do', async () => {
    const f = file('lock.yaml', 'version: 1\nbridges:\n  - name: xenbr0\n    uplink: eth0\n');
    const [a, b] = await Promise.all([cli(['apply', '-c', f, '--netns', sb.dom0], sb.env), cli(['apply', '-c', f, '--netns', sb.dom0], sb.env)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect([a.stdout, b.stdout].filter((s) => s.startsWith('no changes'))).toHaveLength(1);
    expect((await cli(['stop', '--netns', sb.dom0], sb.env)).code).toBe(0);
  });
});
