import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dump, sandboxWithTopology, withoutTimers, type Sandbox } from '../helpers/netns.js';
import { scopeDir } from '../helpers/pending.js';
import { cli } from '../helpers/sh.js';
import { EVERY_KIND_OF_STEP } from '../helpers/topologies.js';

let sb: Sandbox;
let cfg: string;
/** A real record of each kind, taken from real runs, to damage. */
const good: Record<string, string> = {};
let applied: string;
/** The file with one bridge more. */
let changed: string;

beforeAll(async () => {
  ({ sb, cfg } = await sandboxWithTopology(EVERY_KIND_OF_STEP.replace('    stp: true\n    forward-delay: 4\n', '')));
  expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], { ...sb.env, XENBRIDGE_FAILPOINT: 'kill:3' })).code).toBe(-1);
  good['journal.json'] = readFileSync(file('journal.json'), 'utf8');
  expect((await xb('apply', '-c', cfg)).code).toBe(0);
  good['history.json'] = readFileSync(file('history.json'), 'utf8');
  good['pending.json'] = good['history.json'].replace('{', '{"id":"0a0b0c0d","pid":1,"seconds":60,"deadline":"2099-01-01T00:00:00.000Z","source":"t","applied":true,');
  good['on-demand.json'] = '{"version":2,"bridges":{}}';
  applied = withoutTimers(await dump(sb.dom0));
  changed = join(sb.runDir, 'changed.yaml');
  writeFileSync(changed, `${readFileSync(cfg, 'utf8')}  - name: xenbr7\n`);
});
afterAll(async () => sb.cleanup());

const file = (name: string): string => join(scopeDir(sb), name);
const xb = (...args: string[]) => cli([...args, '--netns', sb.dom0], sb.env);

const damage: [string, (text: string) => string, RegExp][] = [
  ['emptied to {}', () => '{}\n', /cannot be read: ([a-z]+ should be [a-z ]+, not missing|it was written by an older xenbridge \(record without a version; this one reads versions 2 to 2\))$/],
  ['truncated', (t) => t.slice(0, Math.floor(t.length / 2)), /cannot be read: it is not JSON \(truncated\?\)$/],
  ['empty', () => '', /cannot be read: it is empty$/],
  ['given a wrong type', (t) => t.replace(/"steps": \[/, '"steps": "all", "x": [').replace(/"bridges":\{\}/, '"bridges":[]'), /cannot be read: (steps|bridges) should be (a list|a mapping), not (text|a list)$/],
  ['from a future version', (t) => t.replace(/"version": ?2/, '"version": 99'), /cannot be read: it was written by a newer xenbridge \(record version 99; this one reads up to 2\)$/],
  ['from version 1 (batch lines)', (t) => t.replace(/"version": ?2/, '"version": 1'), /cannot be read: it was written by an older xenbridge \(record version 1; this one reads versions 2 to 2\)$/],
  ['given an op of an unknown kind', (t) => t.replace(/"kind": "[a-zA-Z]+"/, '"kind": "shell"').replace(/"bridges":\{\}/, '"bridges":{"x":[{"op":{"kind":"shell"},"undo":[]}]}'), /cannot be read: [a-z.\[\]0-9-]+\.kind: unknown op "shell"$/],
];

describe('a damaged record in the run directory', () => {
  for (const name of ['history.json', 'journal.json', 'pending.json', 'on-demand.json']) {
    // An on-demand record of {} is the empty record of a xenbridge from before record versions: valid.
    // Ops are checked by the same code in every record: two files show it end to end. A journal of
    // version 1 is refused (the others are read with their batch lines kept as they were).
    const applies = ([how]: [string, unknown, unknown]): boolean =>
      !(name === 'on-demand.json' && how === 'emptied to {}') &&
      (!how.startsWith('from version 1') || name === 'journal.json') &&
      (!how.includes('op of an unknown kind') || name === 'history.json' || name === 'journal.json');
    it.each(damage.filter(applies))(`${name} %s: one clear error naming it, exit 1, nothing changed`, async (_n, spoil, why) => {
      const saved = existsSync(file('history.json')) ? readFileSync(file('history.json'), 'utf8') : undefined;
      writeFileSync(file(name), spoil(good[name] ?? ''));
      try {
        // Every command that changes the kernel checks every record first (the vif hook: those it relies on).
        // A no-change apply writes nothing and leaves the history alone; one with changes checks it first.
        const commands = { 'history.json': [['stop'], ['apply', '-c', changed]], 'journal.json': [['rollback']], 'pending.json': [['apply', '-c', cfg]], 'on-demand.json': [['stop']] }[name] ?? [];
        for (const args of commands) {
          const r = await xb(...args);
          const at = `${args[0]} with ${name}`;
          expect(r.code, at).toBe(1);
          const [first, ...rest] = r.stderr.split('\n');
          expect(first, at).toMatch(new RegExp(`^xenbridge: ${file(name).replace(/[.]/g, '\\.')} \\(the [A-Za-z -]+\\) ${why.source}`));
          expect(rest.join('\n'), at).not.toMatch(/\s+at |TypeError|nothing to undo/);
          expect(r.stdout, at).not.toMatch(/nothing to undo/);
        }
        const s = await xb('status');
        expect(s.code).toBe(1);
        expect(s.stdout).toContain(`unreadable: ${file(name)}`);
        expect(withoutTimers(await dump(sb.dom0))).toBe(applied);
      } finally {
        rmSync(file(name));
        if (saved !== undefined) writeFileSync(file('history.json'), saved);
      }
    });
  }
});
