/** The xenbridge CLI's entry, when bin/xenbridge has no startup snapshot to start it from. */
import { runCli } from './run.js';

const code = await runCli(process.argv);
process.exitCode = code;
// The launcher asks for a snapshot when it had none; a failed command (a bad file, a bad flag) leaves no trace.
// Not passed on: a process this one starts (a revert timer, a DHCP client) is no launcher's.
const wanted = process.env.XENBRIDGE_SNAPSHOT_BUILD;
delete process.env.XENBRIDGE_SNAPSHOT_BUILD;
try {
  if (code === 0 && wanted) (await import('./snapshot-build.js')).buildSnapshotLater(wanted);
} catch {
  // Only a speed-up: a command that succeeded must not fail because its builder could not start.
}
