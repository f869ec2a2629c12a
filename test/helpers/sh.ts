/** Test-side process helpers (the product's own process runner lives in src/exec/runner.ts). */
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = `${ROOT}bin/xenbridge`;

/**
 * Whether PID runs (NAME: that program). One that has exited stays a zombie until it is reaped,
 * which for an orphan (a daemon, a detached timer) is the init's job: a minimal init may take a
 * second or more, so a zombie counts as gone.
 */
export const runs = (pid: number | string, name?: string): boolean => {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
    return !/^[ZX]/.test(st.slice(st.lastIndexOf(')') + 2)) && (name === undefined || comm === name);
  } catch {
    return false;
  }
};

export const sh = async (cmd: string): Promise<string> => {
  const r = await execa('sh', ['-c', cmd], { reject: false });
  if (r.exitCode !== 0) throw new Error(`${cmd}\n-> exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
};

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** bin/xenbridge run as a program, as /usr/bin/xenbridge is: from the startup snapshot once one is made. */
export const cli = async (args: string[], env: Record<string, string> = {}): Promise<CliResult> => {
  const r = await execa(CLI, args, { reject: false, env: { ...env }, stdin: 'ignore' });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
};
