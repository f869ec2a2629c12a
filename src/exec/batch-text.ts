/**
 * Pure parts of running batches: the failpoint tests use, how ip names a failed line, and the files
 * a recorded batch leaves behind.
 */
import { XbError } from '../errors.js';

export type Tool = 'ip' | 'bridge' | 'nft';

export const FAIL_LINE: Record<Tool, string> = { ip: 'link set dev xb-failpoint up', bridge: 'vlan add dev xb-failpoint vid 1', nft: 'delete table bridge xb-failpoint' };

/** Fails global op `at`, or with kill kills this process just before it (crash tests). */
export interface Failpoint {
  kill: boolean;
  at: number;
}

/** XENBRIDGE_FAILPOINT's text: k fails global op k; kill:k kills this process just before op k. */
export const parseFailpoint = (fp: string | undefined): Failpoint | undefined => {
  if (!fp) return undefined;
  const m = /^(kill:)?(\d+)$/.exec(fp);
  if (!m) throw new XbError('usage', `XENBRIDGE_FAILPOINT must be N or kill:N, got "${fp}"`);
  return { kill: m[1] !== undefined, at: Number(m[2]) };
};

/** ip names the failed line as "Command failed -:N" for stdin, "Command failed FILE:N" for a file. */
export const failedLineOf = (stderr: string): number | undefined => {
  const m = /Command failed \S*:(\d+)/.exec(stderr);
  return m ? Number(m[1]) : undefined;
};

/** A recorded batch: the lines ip was given, the pid of its shell, its output, its exit status. */
export const recordFiles = (base: string) => ({ lines: `${base}.batch`, pid: `${base}.pid`, out: `${base}.out`, rc: `${base}.rc` });

/**
 * ip reads its lines from a file and runs in its own session, so neither a kill -9 of this process
 * nor a hang-up of the admin's SSH session stops it halfway through a batch; the shell records its
 * pid before and the exit status after, which is how recovery learns how far the batch got.
 */
export const RECORDED = 'umask 077; echo $$ >"$1"; out=$2; rc=$3; shift 3; "$@" >"$out" 2>&1; echo $? >"$rc"';
