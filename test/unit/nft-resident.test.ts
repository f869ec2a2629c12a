/**
 * The resident nft's framing against a scripted nft: what nft 1.0.6 and 1.1.3 print for `nft -i`
 * reading a pipe (errors and the mark's syntax error on stderr, in chunks cut anywhere).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nftSession, type Resident } from '../../src/exec/nft-resident.js';
import { recordFiles } from '../../src/exec/batch-text.js';

/** A fake nft: answer(batch file, mark) says what it prints (in chunks) or 'die' / 'hang'. */
const fake = (answer: (file: string, mark: string) => string[] | 'die' | 'hang' | { says: string; dies: string }, killIgnored = false) => {
  const started: number[] = [];
  const start = (): Resident => {
    let listener: (d: string) => void = () => undefined;
    let endIt: (why: string) => void = () => undefined;
    const ended = new Promise<string>((r) => { endIt = r; });
    const pid = 1000 + started.length;
    // An nft stuck in the kernel: SIGKILL does not end it yet, and it reads nothing more.
    let deaf = false;
    started.push(pid);
    return {
      pid,
      write: (t) => {
        if (deaf) return;
        const [, file, mark] = /^include "(.*)"\n(.*)\n$/.exec(t) ?? [];
        const a = answer(file as string, mark as string);
        if (a === 'die') setTimeout(() => endIt('killed by SIGKILL'), 5);
        else if (!Array.isArray(a) && a !== 'hang') setTimeout(() => { listener(a.says); endIt(a.dies); }, 2);
        else if (a !== 'hang') a.forEach((c, i) => setTimeout(() => listener(c), 2 * i));
      },
      stderr: (l) => { listener = l; },
      ended,
      end: () => endIt('exited with status 0'),
      kill: () => (killIgnored ? void (deaf = true) : endIt('killed by SIGKILL')),
    };
  };
  return { start, started };
};

const markErr = (mark: string): string => `Error: syntax error, unexpected newline, expecting string\n${mark}\n${' '.repeat(mark.length)}^\n`;

describe('the resident nft session', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xenbridge-nftres-'));
  const rec = recordFiles(join(dir, 'batch-0'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a batch that prints nothing succeeded; its record says so and names the nft', async () => {
    const f = fake((_, m) => [markErr(m).slice(0, 20), markErr(m).slice(20, 70), markErr(m).slice(70)]);
    const r = await nftSession(f.start).run(['add table bridge t'], rec);
    expect([r.exitCode, r.stderr, r.uncertain]).toEqual([0, '', undefined]);
    expect([readFileSync(rec.rc, 'utf8'), readFileSync(rec.pid, 'utf8'), readFileSync(rec.lines, 'utf8')]).toEqual(['0\n', '1000\n', 'add table bridge t\n']);
  });

  it('nft\'s error is the batch\'s, named as its first line; the next batch does not see it', async () => {
    let n = 0;
    const f = fake((file, m) => (n++ === 0
      ? [`In file included from <cmdline>:1:1-40:\n${file}:1:18-21: Error: No such file or directory\nadd chain bridge nope x\n`, `                 ^^^^\n${markErr(m)}`]
      : [markErr(m)]));
    const s = nftSession(f.start);
    const bad = await s.run(['add chain bridge nope x'], rec);
    expect([bad.exitCode, bad.stderr.split('\n')]).toEqual([1, [`${rec.lines}:1:18-21: Error: No such file or directory`, 'add chain bridge nope x', '                 ^^^^', 'Command failed -:1', '']]);
    expect(readFileSync(rec.rc, 'utf8')).toBe('1\n');
    expect((await s.run(['add table bridge t'], rec)).exitCode).toBe(0);
    expect(f.started).toHaveLength(1);
  });

  it('an nft that dies with the batch is replaced and the batch runs again; failed then, or died twice, it fails as uncertain', async () => {
    let n = 0;
    const once = fake((_, m) => (n++ === 0 ? 'die' : [markErr(m)]));
    expect((await nftSession(once.start).run(['add table bridge t'], rec)).exitCode).toBe(0);
    expect(once.started).toHaveLength(2);
    let m = 0;
    const thenRefused = fake((file, mk) => (m++ === 0 ? 'die' : [`${file}:1:1-3: Error: Could not process rule: Device or resource busy\nadd table bridge t\n^^^\n${markErr(mk)}`]));
    const refused = await nftSession(thenRefused.start).run(['add table bridge t'], rec);
    expect([refused.exitCode, refused.uncertain, readFileSync(rec.out, 'utf8')]).toEqual([1, true, expect.not.stringContaining('Command failed')]);
    const noNetns = fake(() => ({ says: 'Cannot open network namespace "xb1": No such file or directory\n', dies: 'exited with status 1' }));
    const gone = await nftSession(noNetns.start).run(['add table bridge t'], rec);
    expect(gone.stderr).toBe('nft ended (exited with status 1) during the batch, twice: Cannot open network namespace "xb1": No such file or directory');
    const always = fake(() => 'die');
    const r = await nftSession(always.start).run(['add table bridge t'], rec);
    expect([r.exitCode, r.uncertain, r.stderr]).toEqual([1, true, 'nft ended (killed by SIGKILL) during the batch, twice']);
  });

  it('an nft that gives no answer is killed at the time limit; the batch failed as uncertain; the next starts a new one', async () => {
    let n = 0;
    const f = fake((_, m) => (n++ === 0 ? 'hang' : [markErr(m)]));
    const s = nftSession(f.start, 50);
    const r = await s.run(['add table bridge t'], rec);
    expect([r.exitCode, r.uncertain, r.timedOut]).toEqual([1, true, true]);
    expect((await s.run(['add table bridge t'], rec)).exitCode).toBe(0);
    expect(f.started).toHaveLength(2);
  });

  it('an nft that outlives its kill is left: the next batch goes to a new one', async () => {
    let n = 0;
    const f = fake((_, m) => (n++ === 0 ? 'hang' : [markErr(m)]), true);
    const s = nftSession(f.start, 50, 20);
    expect((await s.run(['add table bridge t'], rec)).timedOut).toBe(true);
    expect((await s.run(['add table bridge t'], rec)).exitCode).toBe(0);
    expect(f.started).toHaveLength(2);
  });

  it('a run directory nft would read as a glob pattern (or cut at a quote) is refused before any nft starts', async () => {
    for (const bad of ['x[1]', 'x*', 'x?', 'x"y']) {
      const f = fake((_, m) => [markErr(m)]);
      const at = recordFiles(join(dir, bad, 'batch-0'));
      await expect(nftSession(f.start).run(['add table bridge t'], at)).rejects.toMatchObject({ kind: 'state', message: expect.stringContaining('nft cannot include') });
      expect(f.started).toEqual([]);
    }
  });
});
