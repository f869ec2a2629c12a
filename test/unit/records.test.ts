import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addVeth, rename } from '../../src/plan/steps.js';
import { HISTORY, JOURNAL, ON_DEMAND } from '../../src/txn/records.js';
import { readRecord, writeRecord } from '../../src/txn/store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xenbridge-records-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const f = (): string => join(dir, 'r.json');
const steps = [rename('eth0', 'peth0'), addVeth('eth0', { peer: 'xenbr0-d0' })];

describe('records of the run directory', () => {
  it('are written with a version and read back as written', () => {
    writeRecord(f(), { started: 'then', steps });
    expect(JSON.parse(readFileSync(f(), 'utf8')).version).toBe(1);
    expect(readRecord(f(), HISTORY)).toEqual({ started: 'then', steps });
  });

  it('none is undefined; fields a record does not have are dropped', () => {
    expect(readRecord(f(), HISTORY)).toBeUndefined();
    writeFileSync(f(), JSON.stringify({ version: 1, started: 'then', steps, extra: 'x' }));
    expect(readRecord(f(), HISTORY)).toEqual({ started: 'then', steps });
  });

  it.each([
    ['a journal whose done is past its steps', JOURNAL, { version: 1, pid: 1, started: 's', what: 'apply', steps, done: 3 }, 'done is past the last step'],
    ['a journal with an inverted in-flight range', JOURNAL, { version: 1, pid: 1, started: 's', what: 'apply', steps, done: 0, inflight: [2, 1] }, 'inflight should be [from, to]'],
    ['a step of another tool', HISTORY, { version: 1, started: 's', steps: [{ ...steps[0], tool: 'sh' }] }, 'steps[0].tool should be one of ip, bridge, nft, dhcp, not text'],
    ['an undo line that is not text', HISTORY, { version: 1, started: 's', steps: [{ ...steps[0], undo: [{ tool: 'ip', line: 7 }] }] }, 'steps[0].undo[0].line should be text, not a number'],
    ['a list', HISTORY, [], 'the file should be a mapping, not a list'],
    ['version 0', HISTORY, { version: 0, started: 's', steps }, 'unknown record version 0'],
  ])('%s is refused, naming the file and the field', (_n, kind, value, why) => {
    writeFileSync(f(), JSON.stringify(value));
    expect(() => readRecord(f(), kind)).toThrow(`${f()} (the ${kind.what}) cannot be read: ${why}`);
  });

  it('an on-demand record from before versions (bridge -> steps) is read as the current shape', () => {
    writeFileSync(f(), JSON.stringify({ 'xenbr0.10': steps }));
    expect(readRecord(f(), ON_DEMAND)).toEqual({ bridges: { 'xenbr0.10': steps } });
    writeFileSync(f(), '{}');
    expect(readRecord(f(), ON_DEMAND)).toEqual({ bridges: {} });
  });
});
