/**
 * A node child that loads what it runs, says so on stdout, and starts only when told ("go" on
 * stdin): a kill -9 then lands in its work, not in node's start-up, which under emulation takes
 * seconds. Wrapped in an object: a subprocess is itself a promise, which an async function would wait out.
 */
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
