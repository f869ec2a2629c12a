/**
 * A node child that loads what it runs, says so on stdout, and starts only when told ("go" on
 * stdin): a kill -9 then lands in its work, not in node's start-up, which under emulation takes
 * seconds. Wrapped in an object: a subprocess is itself a promise, which an async function would wait out.
 */
import { existsSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';

export interface ReadyChild {
  p: ResultPromise<{ reject: false; stdin: 'pipe' }>;
}

export const readyChild = async (args: string[], env?: Record<string, string | undefined>): Promise<ReadyChild> => {
  const p = execa('node', args, { env, reject: false, stdin: 'pipe' });
  await new Promise<void>((res) => p.stdout.once('data', () => res()));
  return { p };
};

/** Starts the child and kills it -9 after ms; resolves with its pid once it is gone. */
export const killAfter = async ({ p }: ReadyChild, ms: number): Promise<number | undefined> => {
  p.stdin.write('go\n');
  await new Promise((res) => setTimeout(res, ms));
  p.kill('SIGKILL');
  await p;
  return p.pid;
};

export interface KillWindow {
  exitCode: number | undefined;
  /** The run's length, and when its journal was first and last seen (ms from "go"). */
  span: number;
  first: number;
  last: number;
  /** Where kills land: the journal's time widened by a quarter each side, within the run. */
  from: number;
  to: number;
  /** Whether the journal was seen at all (if not, the window is the whole run). */
  seen: boolean;
}

/**
 * Runs a ready child to its end and watches for its journal meanwhile. Kills in the window it returns
 * mostly land while there is something to recover, and a few before the first journal and after the
 * last; with no journal seen, the window is the whole run.
 */
export const killWindow = async ({ p }: ReadyChild, journal: string): Promise<KillWindow> => {
  const t0 = Date.now();
  p.stdin.write('go\n');
  const seen: number[] = [];
  const poll = setInterval(() => { if (existsSync(journal)) seen.push(Date.now() - t0); }, 5);
  const { exitCode } = await p;
  clearInterval(poll);
  const span = Date.now() - t0;
  const [first = 0, last = span] = [seen[0], seen.at(-1)];
  return { exitCode, span, first, last, from: Math.max(0, first - (last - first) / 4), to: Math.min(span, last + (last - first) / 4), seen: seen.length > 0 };
};
