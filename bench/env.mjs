// Every bench times its processes in the environment xenbridge runs in. systemd's and xl's carry no
// NODE_EXTRA_CA_CERTS; where a shell sets it, node parses that bundle at every start (50-80 ms of a
// 110 ms `node -e 0` here), which swells the floor's node as much as ours and flatters every ratio.
import { mkdtempSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

delete process.env.NODE_EXTRA_CA_CERTS;

// xenbridge keeps its records in /run/xenbridge, and /run is a tmpfs on Debian (systemd mounts it
// so), where the fsyncs of each change's records cost nothing. A bench's run directory goes on a
// tmpfs too, or it would time a disk's flushes no dom0 pays (here /run is on the root ext4 file
// system, where an apply's six fsyncs took 2-3 ms, more while the disk is busy).
const TMPFS_MAGIC = 0x01021994;
const onTmpfs = (dir) => {
  try {
    return statfsSync(dir).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
};

/** Where run directories go: /run, else /dev/shm, when a tmpfs; else the temporary directory (say so). */
export const RUN_BASE = ['/run', '/dev/shm'].find(onTmpfs) ?? tmpdir();
export const RUN_BASE_NOTE = onTmpfs(RUN_BASE) ? `run directories on a tmpfs (${RUN_BASE}), as /run is on Debian` : `run directories in ${RUN_BASE}: no tmpfs found, every fsync is timed`;

/** A fresh directory for one bench's run directories (and its files), on RUN_BASE. */
export const freshRunDir = (tag) => mkdtempSync(join(RUN_BASE, `xenbridge-${tag}-`));
