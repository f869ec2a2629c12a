/**
 * Read-only batches side by side under one shell started from here. From Node every process start
 * forks the whole runtime, and under emulation that costs more than the reads themselves; from a
 * shell it forks a small one. Each part's output and errors go to files of their own (scratch.ts:
 * unlinked as soon as they are open, so a kill -9 leaves nothing), handed to the shell as open
 * descriptors; the shell's own output is each part's exit status, then "end".
 */
import { XbError } from '../errors.js';
import type { Tool } from './batch-text.js';
import type { RunResult } from './runner.js';
import { scratchFd, takeScratch } from './scratch.js';

/** A batch (its lines on stdin), or a shell script run with args as $@. */
export type ReadPart = { tool: Tool; lines: string[]; opts?: { json?: boolean; details?: boolean; compressVlans?: boolean } } | { script: string; args: string[] };

/** Part i writes to descriptors 3+2i (output) and 4+2i (errors); the shell names descriptors up to 9. */
export const MAX_PARTS = 3;

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

// A delimiter no batch line of ours holds: the lines are the callers' constants.
const EOF = 'XB_READ_EOF';

/** The shell script: argvs[i] is the command line of a batch part (undefined for a script part). */
const jointScript = (parts: ReadPart[], argvs: (string[] | undefined)[]): string => {
  if (parts.length > MAX_PARTS) throw new XbError('bug', `at most ${MAX_PARTS} reads run side by side`);
  return [
    ...parts.map((p, i) => {
      const redirect = `>&${3 + 2 * i} 2>&${4 + 2 * i}`;
      const body = 'script' in p
        ? `(set -- ${p.args.map(quote).join(' ')}\n${p.script}\n) ${redirect}`
        : `${(argvs[i] ?? []).map(quote).join(' ')} ${redirect} <<'${EOF}'\n${p.lines.join('\n')}\n${EOF}`;
      return `(${body}\necho "${i} $?") &`;
    }),
    'wait',
    'echo end',
  ].join('\n');
};

/** Each part's exit status from the shell's output; a part that left none (the shell was killed) reads as 127. */
const jointStatuses = (stdout: string, n: number): number[] => {
  const rc = new Array<number>(n).fill(127);
  for (const m of stdout.matchAll(/^(\d) (\d+)$/gm)) {
    const i = Number(m[1]);
    if (i < n) rc[i] = Number(m[2]);
  }
  return rc;
};

type ReadOpts = NonNullable<Extract<ReadPart, { tool: Tool }>['opts']>;

/** What the runner lends: a batch's command line, the shell with more descriptors, the error of a missing tool. */
export interface JointVia {
  argv(tool: Tool, opts: ReadOpts): string[];
  sh(script: string, fds: number[]): Promise<RunResult>;
  missing(tool: Tool, stderr: string): Error;
}

export const jointReads = async (parts: ReadPart[], dir: string, via: JointVia): Promise<RunResult[] | undefined> => {
  const fds = parts.flatMap(() => [scratchFd(dir), scratchFd(dir)]);
  const taken = (): string[] => fds.map((fd) => (fd === undefined ? '' : takeScratch(fd)));
  const given = fds.filter((fd): fd is number => fd !== undefined);
  if (given.length < fds.length) {
    taken();
    return undefined;
  }
  const argvs = parts.map((p) => ('script' in p ? undefined : via.argv(p.tool, p.opts ?? {})));
  const r = await via.sh(jointScript(parts, argvs), given).catch((e: unknown) => {
    taken();
    throw e;
  });
  const out = taken();
  // The statuses may come through a file too: on a full file system they are cut short like the rest.
  if (!r.stdout.endsWith('end\n')) return undefined;
  const rc = jointStatuses(r.stdout, parts.length);
  return parts.map((p, i) => {
    const res = { exitCode: rc[i] ?? 127, stdout: out[2 * i] ?? '', stderr: out[2 * i + 1] ?? '', timedOut: false };
    if ('tool' in p && res.exitCode === 127 && /not found/.test(res.stderr)) throw via.missing(p.tool, res.stderr);
    return res;
  });
};
