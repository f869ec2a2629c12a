// An nft run and the ip batch after it run as one recorded process: its record names the failed line
// in the whole, so what ran is known from the record alone, as for one ip batch.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunner, recordFiles } from '../../src/exec/runner.js';
import { settle } from '../../src/txn/recover.js';
import { sh } from '../helpers/sh.js';

let ns: string;
let dir: string;
beforeEach(async () => {
  ns = `xbjoint${process.pid}`;
  dir = mkdtempSync(join(tmpdir(), 'xenbridge-joint-'));
  await sh(`ip netns add ${ns}`);
});
afterEach(async () => {
  await sh(`ip netns del ${ns}`);
  rmSync(dir, { recursive: true, force: true });
});

const tables = async (): Promise<string> => sh(`ip netns exec ${ns} nft list tables`);
const links = async (): Promise<string> => sh(`ip -n ${ns} -br link | cut -d@ -f1 | cut -d' ' -f1 | sort | tr '\\n' ' '`);
const journal = (base: string) => ({ pid: 1, started: '', what: 'test', steps: [], done: 0, inflight: [4, 9] as [number, number], batch: base });

describe('a resident nft', () => {
  it('a record nft would read as a glob pattern goes to an nft of its own: the batch runs', async () => {
    const base = join(dir, 'x[1]', 'batch-0');
    mkdirSync(join(dir, 'x[1]'));
    const runner = createRunner(ns, { residentNft: true });
    const r = await runner.batch('nft', ['add table bridge xbglob'], { record: base, firstIndex: 0 });
    runner.close();
    expect([r.ok, await tables()]).toEqual([true, expect.stringContaining('table bridge xbglob')]);
  });
  it('its namespace deleted and made again under the same name: the next batch goes to the new one', async () => {
    const runner = createRunner(ns, { residentNft: true });
    expect((await runner.batch('nft', ['add table bridge xbold'], { record: join(dir, 'batch-0'), firstIndex: 0 })).ok).toBe(true);
    await sh(`ip netns del ${ns} && ip netns add ${ns}`);
    const r = await runner.batch('nft', ['add table bridge xbnew'], { record: join(dir, 'batch-1'), firstIndex: 1 });
    runner.close();
    expect([r.ok, await tables()]).toEqual([true, 'table bridge xbnew']);
  });
});

describe('a joint nft + ip run', () => {
  it('runs both; a failed ip line is named in the whole and what ran is settled from the record', async () => {
    const base = join(dir, 'batch-4');
    const r = await createRunner(ns).batch('nft', ['add table bridge xbt', 'add chain bridge xbt c'], {
      record: base, firstIndex: 4, then: [{ tool: 'ip', lines: ['link add name j0 type veth peer name j1', 'link set dev nosuch up', 'link add name j2 type veth peer name j3'] }],
    });
    expect([r.ok, r.done, r.failedLine]).toEqual([false, 3, 4]);
    expect(await tables()).toContain('table bridge xbt');
    expect(await links()).toBe('j0 j1 lo ');
    expect(readFileSync(recordFiles(base).out, 'utf8')).toMatch(/Command failed -:4\n$/);
    expect(settle(journal(base))).toEqual({ done: 7, uncertain: 0, running: false });
  });
  it('a refused nft run stops it before the ip batch: nothing ran', async () => {
    const base = join(dir, 'batch-4');
    const r = await createRunner(ns).batch('nft', ['add table bridge xbt', 'add rule bridge xbt nosuch accept'], {
      record: base, firstIndex: 4, then: [{ tool: 'ip', lines: ['link add name j0 type veth peer name j1'] }],
    });
    expect([r.ok, r.done]).toEqual([false, 0]);
    expect(r.stderr).toMatch(/Error: /);
    expect(await tables()).toBe('');
    expect(await links()).toBe('lo ');
    expect(settle(journal(base))).toEqual({ done: 4, uncertain: 0, running: false });
  });
});
