/**
 * One line per vif event, where Xen's own hotplug scripts log theirs: Xen's hotplug log and syslog
 * (facility daemon, through logger(1) as their log() does), plus stderr, which libxl captures.
 * The line names the domain, and the device as xl created it.
 */
import { appendFileSync } from 'node:fs';
import type { Runner } from '../exec/runner.js';

export const HOTPLUG_LOG = '/var/log/xen/xen-hotplug.log';
export const SYSLOG_TAG = 'vif-xenbridge';

export interface EventLog {
  /** Xen's hotplug log (default HOTPLUG_LOG). */
  file: string;
  /** Runs logger(1). */
  runner: Runner;
  /** Gets the line as stderr would (default: stderr). */
  echo?: (line: string) => void;
}

export const logLine = (domid: number, text: string): string => `domain ${domid}: ${text}`;

/** Never fails: a host without Xen's log directory or without logger still attaches the guest. */
export const logEvent = async (log: EventLog, domid: number, text: string, level: 'notice' | 'err'): Promise<void> => {
  const line = logLine(domid, text);
  (log.echo ?? ((l: string) => process.stderr.write(`${l}\n`)))(`${SYSLOG_TAG}: ${line}`);
  try {
    // Created 0640 whatever the umask: guests' names and errors are not for every local user.
    appendFileSync(log.file, `[${new Date().toISOString()}] ${SYSLOG_TAG}: ${line}\n`, { mode: 0o640 });
  } catch {
    // No Xen log directory (not a Xen host): stderr and syslog have the line.
  }
  try {
    await log.runner.run('logger', ['-p', `daemon.${level}`, '-t', SYSLOG_TAG, '--', line], { timeoutMs: 2000 });
  } catch {
    // No logger (util-linux's bsdutils): the hotplug log has the line.
  }
};

/** Many events' lines at once (the hook service's batches): one append, one logger, whatever their number. */
export const logEvents = async (log: EventLog, entries: { domid: number; text: string; echo: (line: string) => void }[]): Promise<void> => {
  if (entries.length === 0) return;
  const lines = entries.map((e) => {
    const line = logLine(e.domid, e.text);
    e.echo(`${SYSLOG_TAG}: ${line}`);
    return line;
  });
  const at = new Date().toISOString();
  try {
    appendFileSync(log.file, lines.map((l) => `[${at}] ${SYSLOG_TAG}: ${l}\n`).join(''), { mode: 0o640 });
  } catch {
    // As logEvent: stderr and syslog have the lines.
  }
  try {
    // logger logs each line of its input as a message of its own.
    await log.runner.run('logger', ['-p', 'daemon.notice', '-t', SYSLOG_TAG], { timeoutMs: 2000, input: `${lines.join('\n')}\n` });
  } catch {
    // No logger: the hotplug log has the lines.
  }
};
