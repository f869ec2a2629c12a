/** The hook service's log lines: echoed to the hook that asked, and syslog's logger run once the hooks have their answers. */
import type { Runner } from '../exec/runner.js';

/** One event's log lines, as the hook would have printed them, for its reply; also on the service's stderr. */
export const echoTo = (lines: string[]) => (l: string): void => {
  lines.push(l);
  process.stderr.write(`${l}\n`);
};

/** logger runs once the hooks have their answers (flushSyslog): its start is no part of an event's wait. */
const later: (() => Promise<unknown>)[] = [];
export const deferring = (r: Runner): Runner => ({
  ...r,
  run: async (cmd, args, opts) => {
    later.push(() => r.run(cmd, args, opts));
    return { exitCode: 0, stdout: '', stderr: '', timedOut: false };
  },
});
export const flushSyslog = async (): Promise<void> => {
  // A host without logger: the hotplug log and stderr have the lines.
  await Promise.all(later.splice(0).map((run) => run().catch(() => undefined)));
};
