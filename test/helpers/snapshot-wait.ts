/**
 * Waits for the CLI's startup snapshot, which a detached builder makes (nothing to wait on). The
 * builder runs at nice 19, so that it yields to the host's work; where the scheduler does not group
 * processes by session, a loaded machine (a CI runner unpacking the test beds beside three test
 * files) gives it almost no CPU. While a test waits, the builders of its tree are raised back to
 * nice 0: only how soon they run changes.
 */
import { execa } from 'execa';

/** How long a wait may take; a test that waits sets its own limit above it. */
export const WAIT_MS = 200_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const hurry = async (tree: string): Promise<void> => {
  const pids = (await execa('pgrep', ['-f', '--', `--build-snapshot ${tree}/`], { reject: false })).stdout.split('\n').filter((p) => /^\d+$/.test(p));
  if (pids.length > 0) await execa('renice', ['-n', '0', '-p', ...pids], { reject: false });
};

/**
 * Until cond holds, hurrying the builders of the tree whose dist/cli/snapshot.cjs they build from;
 * past WAIT_MS it throws: a wait that ran out says so, it does not let the test go on as if it held.
 */
export const until = async (tree: string, cond: () => boolean | Promise<boolean>): Promise<void> => {
  for (const end = Date.now() + WAIT_MS; !(await cond());) {
    if (Date.now() >= end) throw new Error(`${tree}: what the test waits for (its startup snapshot, or its builder's end) did not come within ${WAIT_MS / 1000} s`);
    await hurry(tree);
    await sleep(100);
  }
};
