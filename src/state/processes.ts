/**
 * Processes as /proc/<pid>/stat shows them. A process that has exited stays there as a zombie until
 * its parent, or for an orphan the init, reaps it: systemd does so at once, a minimal init (a
 * container's or a microVM's) may take a second or more. A zombie keeps its name and start time
 * but runs nothing, so it counts as gone: a lock it held is free, a client it was has stopped.
 */
import { readFileSync } from 'node:fs';

export interface ProcStat {
  comm: string;
  /** The state letter: R, S, D, T, Z (exited, not yet reaped), X (being reaped), ... */
  state: string;
  /** Start time in clock ticks since boot: with the pid, it names one process for good. */
  start: string;
}

export const procStat = (pid: number | string): ProcStat | undefined => {
  if (!/^[1-9][0-9]*$/.test(String(pid))) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The name may hold spaces and parentheses; the last ')' ends it.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  return { comm: text.slice(open + 1, close), state: rest[0] ?? '', start: rest[19] ?? '' };
};

const exited = (s: ProcStat): boolean => s.state === 'Z' || s.state === 'X';

/**
 * The process exists and has not exited (NAME: and runs that program, as its comm shows). A pid
 * /proc hides (hidepid, for a caller other than root) is asked with signal 0: alive unless ESRCH.
 */
export const running = (pid: number | string, name?: string): boolean => {
  const s = procStat(pid);
  if (s !== undefined) return !exited(s) && (name === undefined || s.comm === name);
  if (name !== undefined || !/^[1-9][0-9]*$/.test(String(pid))) return false;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The start time of a running process; undefined for none, or one that has exited. */
export const runningSince = (pid: number | string): string | undefined => {
  const s = procStat(pid);
  return s !== undefined && !exited(s) ? s.start : undefined;
};

/** This boot's id: a pid, a start time or a monotonic clock reading means something only within it. */
export const bootId = (): string | undefined => {
  try {
    const id = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return /^[0-9a-f-]{36}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
};
