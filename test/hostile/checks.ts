/** What every hostile input is checked for: exit code by kind, one clear line, no stack, nothing changed. */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { dump } from '../helpers/netns.js';
import { CLI } from '../helpers/sh.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** Generous for a loaded 2-core machine, far below "hangs" (a FIFO) or "fills memory" (/dev/zero). */
export const PROCESS_LIMIT_MS = 60_000;

export const runCli = async (args: string[], env: Record<string, string>): Promise<Run> => {
  const t0 = Date.now();
  const r = await execa(CLI, args, { reject: false, env, extendEnv: false, stdin: 'ignore', timeout: PROCESS_LIMIT_MS });
  const ms = Date.now() - t0;
  const died = r.exitCode === undefined ? `\n[ended by ${r.signal ?? 'no exit code'}${r.timedOut ? ', timed out' : ''} after ${ms} ms]` : '';
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) + died, ms, timedOut: r.timedOut === true };
};

/** Runs fn over items, n at a time, results in order. */
export const pool = async <T, R>(items: T[], n: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> => {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  }));
  return out;
};

const STACK = /^\s+at .+[:(].*\d+:\d+\)?$/m;

/** One `xenbridge: ` line, then only indented detail; no JS stack frame anywhere. */
export const expectOneClearLine = (r: Run, label: string, prefix = 'xenbridge: '): string[] => {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines.length, `${label}: no message`).toBeGreaterThan(0);
  expect(lines[0]?.startsWith(prefix), `${label}: first line ${JSON.stringify(lines[0])}`).toBe(true);
  expect(STACK.test(r.stderr), `${label}: stack trace in\n${r.stderr}`).toBe(false);
  expect(r.stderr.includes('unexpected error'), `${label}: an unexpected error\n${r.stderr}`).toBe(false);
  expect(/\(node:\d+\)/.test(r.stderr), `${label}: a warning of node's\n${r.stderr}`).toBe(false);
  expect(r.timedOut, `${label}: timed out`).toBe(false);
  return lines;
};

/** Every file under dir with its mode, owner and content hash (or link target), minus the given paths. */
export const treeSnapshot = (dir: string, skip: string[] = []): string => {
  const lines: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (skip.some((s) => p === s || p.startsWith(`${s}/`))) continue;
      const st = lstatSync(p);
      const what = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `-> ${readlinkSync(p)}` : createHash('sha256').update(readFileSync(p)).digest('hex');
      lines.push(`${relative(dir, p)} ${(st.mode & 0o7777).toString(8)} ${st.uid} ${what}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return lines.join('\n');
};

/** The namespace as dump prints it, minus the bridge timers that tick by themselves. */
export const nsSnapshot = async (ns: string): Promise<string> =>
  (await dump(ns)).replace(/"[a-z_]*_timer":[0-9.]+,?/g, '').replace(/\},\{"ifindex"/g, '},\n{"ifindex"');
