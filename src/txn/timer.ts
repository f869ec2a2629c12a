/**
 * Starts the process that reverts a pending change at its deadline. It must outlive the CLI and the
 * SSH session that ran it: under systemd it is a transient unit (systemd-run), elsewhere a process
 * in its own session. Either way it runs `xenbridge revert-timer`, and its output goes to revert.log
 * in the run directory.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Context } from '../context.js';
import { XbError } from '../errors.js';
import { detach } from '../exec/runner.js';
import { cliBin, DEFAULT_RUN_ROOT } from '../exec/paths.js';
import { runningSince } from '../state/processes.js';
import { holderAlive } from './lock.js';

/** since: the process's start time (as the lock keeps it): a pid alone would name whatever reuses it. */
export type TimerInfo = { kind: 'systemd'; unit: string } | { kind: 'process'; pid: number; since?: string };

/** Whether the timer process still runs (the same process, when its start time was recorded). */
export const timerRuns = (t: { pid: number; since?: string }): boolean => holderAlive({ pid: t.pid, start: t.since ?? '?' });

/** sd_booted(): systemd is PID 1 exactly when this directory exists. */
export const systemdIsInit = (): boolean => existsSync('/run/systemd/system');

export const revertLog = (dir: string): string => join(dir, 'revert.log');

export interface TimerCommand {
  id: string;
  netns?: string;
  node: string;
  bin: string;
  logFile: string;
  /** Passed on when set: tests and the lab keep their run directories elsewhere. */
  runDirRoot?: string;
}

export const timerArgs = (c: TimerCommand): string[] => [
  c.bin, 'revert-timer', '--id', c.id, ...(c.netns === undefined ? [] : ['--netns', c.netns]), ...(c.runDirRoot === undefined ? [] : ['--run-dir', c.runDirRoot]),
];

export const unitName = (id: string): string => `xenbridge-revert-${id}.service`;

export const systemdRunArgs = (c: TimerCommand): string[] => [
  `--unit=${unitName(c.id)}`,
  `--description=xenbridge: revert change ${c.id} unless confirmed`,
  '--collect',
  '--quiet',
  `--property=StandardOutput=append:${c.logFile}`,
  `--property=StandardError=append:${c.logFile}`,
  '--',
  c.node,
  ...timerArgs(c),
];

/**
 * The timer is told its run directory on its command line, and never gets a failpoint: the
 * failpoint is for the run under test, never for the timer that must clean up after it.
 */
export const startRevertTimer = async (ctx: Context, id: string): Promise<TimerInfo> => {
  const c: TimerCommand = {
    id, netns: ctx.runner.netns, node: process.execPath, bin: cliBin(), logFile: revertLog(ctx.runDir),
    // Absolute: under systemd the timer starts in /, not where a relative XENBRIDGE_RUN_DIR was meant.
    runDirRoot: ctx.runDirRoot === DEFAULT_RUN_ROOT ? undefined : resolve(ctx.runDirRoot),
  };
  if (systemdIsInit()) {
    const r = await ctx.host.run('systemd-run', systemdRunArgs(c));
    if (r.exitCode !== 0) {
      throw new XbError('command', 'cannot start the revert timer with systemd-run; nothing was changed', { detail: r.stderr.split('\n').filter((l) => l !== '') });
    }
    return { kind: 'systemd', unit: unitName(id) };
  }
  const pid = detach(c.node, timerArgs(c), { logFile: c.logFile, env: ctx.env });
  const since = runningSince(pid);
  return { kind: 'process', pid, ...(since === undefined ? {} : { since }) };
};
