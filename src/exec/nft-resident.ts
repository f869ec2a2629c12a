/**
 * One long-lived `nft -i` that runs recorded nft batches: no process start, a warm cache, and no
 * close() of its netlink socket per batch (a transaction that deletes anything makes that close wait
 * for an RCU grace period, ~11 ms). Measured with nft 1.0.6 and 1.1.3 reading a pipe: each line is
 * one transaction (`;`-joined commands and an `include`d file included, all or nothing); success
 * prints nothing; an error goes to stderr with the offending input line echoed; the next line is
 * read only once the previous one has been run. The batch itself goes through `include "FILE"` (the
 * record's lines file): the line written is short, so it reaches nft whole, and nft reads the file
 * buffered where it reads a pipe a byte per read(2). After it comes a line that is a syntax error
 * naming a fresh mark: its echo on stderr ends the batch's output, in the same stream as its errors.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { XbError } from '../errors.js';

/** A child started by runner.ts that lives until ended: its stdin written line by line, its stderr heard. */
export interface Resident {
  pid: number | undefined;
  write(text: string): void;
  stderr(listener: (chunk: string) => void): void;
  /** Settles with how it ended (or why it never started). */
  ended: Promise<string>;
  /** Closes its stdin: nft -i ends once it has run what it read. */
  end(): void;
  kill(): void;
  /** It no longer runs where a new one would (its network namespace was replaced). */
  moved?(): boolean;
}

export interface ResidentResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The batch may or may not have been applied (nft died or hung with it). */
  uncertain?: boolean;
}

export interface NftSession {
  run(lines: string[], rec: { lines: string; pid: string; out: string; rc: string }, dontWait?: boolean): Promise<ResidentResult>;
  close(): void;
}

/**
 * How long a batch may take: a guard's transaction takes a few ms natively, a joint one of 128
 * guards well under a second; each line gets more under emulation, where a storm's batch is long.
 */
const RESIDENT_TIMEOUT_MS = 10_000;
const PER_LINE_MS = 250;

const failed = (text: string): boolean => /(^|: )Error: /m.test(text);

/** nft's own text for a batch: the include's "In file included from" says nothing the next line does not. */
const ownText = (text: string): string => text.split('\n').filter((l) => l !== '' && !l.startsWith('In file included from ')).join('\n');

/**
 * nft reads an include's name with `*`, `?` or `[` in it as a glob(3) pattern, and a pattern that
 * matches nothing as an empty include that succeeds (measured, nft 1.0.6: with the run directory
 * /tmp/x[1] the guard is not made and the port goes on unguarded); `*` and `?` may match another
 * directory's batch as well. A quote or a newline ends the name.
 */
const UNINCLUDABLE = /["\n*?[]/;

/** Whether nft can include this batch file by its name (else the batch goes to an nft of its own). */
export const includable = (file: string): boolean => !UNINCLUDABLE.test(resolve(file));

export const nftSession = (start: () => Resident, timeoutMs = RESIDENT_TIMEOUT_MS, killWaitMs = 2000): NftSession => {
  let cur: { r: Resident; buf: string; gone?: string; wake: () => void } | undefined;
  let seq = 0;
  const nonce = randomBytes(4).toString('hex');

  const open = (): NonNullable<typeof cur> => {
    if (cur && cur.gone === undefined && cur.r.moved?.() !== true) return cur;
    // Between batches: it ends once it reads the end of its input.
    if (cur && cur.gone === undefined) cur.r.end();
    const r = start();
    const c: NonNullable<typeof cur> = { r, buf: '', wake: () => undefined };
    r.stderr((d) => { c.buf += d; c.wake(); });
    void r.ended.then((why) => { c.gone = why; c.wake(); });
    cur = c;
    return c;
  };

  /** One try: 'gone' when nft ended with the batch in flight (or before it was read). */
  const attempt = async (lines: string[], rec: { lines: string; pid: string; out: string; rc: string }, file: string, dontWait: boolean): Promise<ResidentResult | 'gone'> => {
    const c = open();
    if (c.r.pid === undefined) {
      const why = await c.r.ended;
      return { exitCode: 127, stdout: '', stderr: why, timedOut: false };
    }
    const mark = `xenbridge-${nonce}-${++seq}`;
    // Recovery waits for this pid to be gone before it decides how far the batch got.
    writeFileSync(rec.pid, `${c.r.pid}\n`, { mode: 0o600 });
    c.r.write(`include "${file}"\n${mark}\n`);
    if (dontWait) return { exitCode: 0, stdout: '', stderr: '', timedOut: false };
    const end = new RegExp(`\\n${mark}\\n[ ^]*\\n`);
    let timer: NodeJS.Timeout | undefined;
    const limit = timeoutMs + (lines.length - 1) * PER_LINE_MS;
    const outcome = await new Promise<'done' | 'gone' | 'late'>((settle) => {
      timer = setTimeout(() => settle('late'), limit);
      c.wake = () => {
        if (end.test(c.buf)) settle('done');
        else if (c.gone !== undefined) settle('gone');
      };
      c.wake();
    });
    clearTimeout(timer);
    c.wake = () => undefined;
    if (outcome === 'gone') return 'gone';
    if (outcome === 'late') {
      // Killed and waited for, so nothing of it commits after the failure is reported; but not for
      // ever: an nft stuck in the kernel could only add a guard late, never leave a port unguarded.
      c.r.kill();
      await Promise.race([c.r.ended, new Promise((ok) => setTimeout(ok, killWaitMs).unref())]);
      // Still not gone (stuck in the kernel): the next batch must not be written to it and wait in vain.
      if (cur === c) cur = undefined;
      return { exitCode: 1, stdout: '', stderr: `nft gave no answer within ${Math.round(limit / 1000)} s (killed; the next batch starts a new one)`, timedOut: true, uncertain: true };
    }
    const m = end.exec(c.buf) as RegExpExecArray;
    const before = c.buf.slice(0, m.index);
    c.buf = c.buf.slice(m.index + m[0].length);
    // The mark's own "Error: syntax error" line comes last.
    const text = ownText(before.slice(0, Math.max(0, before.lastIndexOf('\n'))));
    const bad = failed(text);
    writeFileSync(rec.out, bad ? `${text}\nCommand failed -:1\n` : text, { mode: 0o600 });
    writeFileSync(rec.rc, bad ? '1\n' : '0\n', { mode: 0o600 });
    return { exitCode: bad ? 1 : 0, stdout: '', stderr: bad ? `${text}\nCommand failed -:1\n` : text, timedOut: false };
  };

  return {
    run: async (lines, rec, dontWait = false) => {
      // nft looks for a relative include in its include directories, not where it runs.
      const file = resolve(rec.lines);
      if (!includable(file)) throw new XbError('state', `nft cannot include ${JSON.stringify(file)}: the run directory's path has one of " * ? [ or a newline`);
      writeFileSync(rec.lines, lines.join('\n') + '\n', { mode: 0o600 });
      // A batch nft ended with is run again by a new one: nft batches are idempotent (add what is
      // there, flush, add-then-delete), so twice is once, whatever the first one did. A run again
      // that fails says nothing of the first: it may have committed, so the batch is undone as such.
      for (let i = 0; ; i++) {
        const r = await attempt(lines, rec, file, dontWait);
        if (r !== 'gone') {
          if (i === 0 || r.exitCode === 0) return r;
          // Its record names no failed line either: recovery after a kill takes it as possibly run.
          writeFileSync(rec.out, r.stderr.replace(/Command failed -:1\n$/, ''), { mode: 0o600 });
          return { ...r, uncertain: true };
        }
        const why = await cur?.r.ended;
        // What it said last names why (ip netns exec: a namespace gone).
        const said = cur?.buf.trim().split('\n').pop();
        if (i === 1) return { exitCode: 1, stdout: '', stderr: `nft ended (${why ?? '?'}) during the batch, twice${said ? `: ${said}` : ''}`, timedOut: false, uncertain: true };
      }
    },
    close: () => cur?.r.end(),
  };
};
