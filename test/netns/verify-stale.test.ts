// A bridge dropped from the file: apply leaves what an earlier apply made of it (a guest may be
// attached), and verify names each such link instead of only saying the state matches the file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/netns.js';
import { cli } from '../helpers/sh.js';

let sb: Sandbox;
const file = (name: string, text: string): string => {
  const p = join(sb.runDir, name);
  writeFileSync(p, text);
  return p;
};
const bridge = (i: number): string => `  - name: xb${i}\n    dom0: {ifname: h${i}, peer: xb${i}-p}\n`;

beforeAll(async () => {
  sb = await makeSandbox();
});
afterAll(async () => sb.cleanup());

describe('links an earlier apply made and the file dropped', () => {
  it('are left in place by apply and named by verify, as warnings; gone after stop and apply', async () => {
    const two = file('two.yaml', `version: 1\nbridges:\n${bridge(0)}${bridge(1)}`);
    const one = file('one.yaml', `version: 1\nbridges:\n${bridge(0)}`);
    expect((await cli(['apply', '-c', two, '--netns', sb.dom0], sb.env)).code).toBe(0);
    expect((await cli(['verify', '-c', two, '--netns', sb.dom0], sb.env)).stdout).toBe('ok state matches the file');
    expect((await cli(['apply', '-c', one, '--netns', sb.dom0], sb.env)).stdout).toBe(`no changes: the host already matches ${one}`);
    expect(await sb.ip('-br link show xb1')).toMatch(/^xb1\s+UP/);

    const v = await cli(['verify', '-c', one, '--netns', sb.dom0, '--json'], sb.env);
    expect(v.code).toBe(0);
    const rep = JSON.parse(v.stdout) as { ok: boolean; findings: { level: string; rule: string; message: string }[] };
    expect(rep.ok).toBe(true);
    expect(rep.findings.map((f) => [f.level, f.rule, f.message.split(' ')[0]])).toEqual(['h1', 'xb1', 'xb1-p'].map((n) => ['warning', 'left-by-earlier-apply', n]));
    const text = await cli(['verify', '-c', one, '--netns', sb.dom0], sb.env);
    expect(text.stdout.split('\n')).toContain('ok warning: xb1 was made by an earlier apply and the file no longer declares it: apply leaves it in place');

    expect((await cli(['stop', '--netns', sb.dom0], sb.env)).code).toBe(0);
    expect((await cli(['apply', '-c', one, '--netns', sb.dom0], sb.env)).code).toBe(0);
    const clean = await cli(['verify', '-c', one, '--netns', sb.dom0, '--json'], sb.env);
    expect([clean.code, JSON.parse(clean.stdout)]).toEqual([0, { ok: true, differences: [], findings: [] }]);
    expect((await sb.ip('-br link')).split('\n').map((l) => l.split(/\s+/)[0]?.split('@')[0]).sort()).toEqual(['eth0', 'h0', 'lo', 'xb0', 'xb0-p']);
    expect((await cli(['stop', '--netns', sb.dom0], sb.env)).code).toBe(0);
  });
});
