/**
 * The CLI's V8 startup snapshot: made in the background, after a command that ran without one
 * succeeded. A snapshot loads only into the node binary that made it, on the CPU it was made on
 * (V8 checks its version, flags and CPU features, and a mismatch ends node before any of our
 * code runs), so each is made for one boot (/proc's boot id) and stamped with the mtimes of that
 * node binary and of the bundle it was made from; bin/xenbridge uses one only when all match.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detach } from '../exec/runner.js';

export const bootId = (): string | undefined => {
  try {
    const id = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return /^[0-9a-f-]{36}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
};

/**
 * $1 the boot's directory, $2 snapshot.cjs, $3 node, $4 main.js. One builder per boot: the mkdir
 * of $1.new is the claim, and a failed build keeps it (empty), so a full disk is tried again after
 * 10 minutes, not after every command; so is a claim left by a builder that was killed. The blob
 * must start and answer --version before it goes into place, with its stamps, in one rename; the
 * snapshots of other boots go then. nice: it must not slow what the host is doing (a boot's guests).
 * umask 077: a snapshot is code that root may run; bin/xenbridge runs only one its user owns.
 */
export const BUILD_SCRIPT = [
  'umask 077; d=$1 e=$2 n=$3 m=$4 c=${1%/*}',
  'mkdir -p "$c" || exit 1',
  'if ! mkdir "$d.new" 2>/dev/null; then [ -n "$(find "$d.new" -maxdepth 0 -mmin +10)" ] || exit 0; rm -rf "$d.new"; mkdir "$d.new" || exit 0; fi',
  'fail() { rm -f "$d.new"/*; exit 1; }',
  'nice -n 19 "$n" --snapshot-blob "$d.new/cli.blob" --build-snapshot "$e" || fail',
  '"$n" --snapshot-blob "$d.new/cli.blob" "$m" --version >/dev/null || fail',
  ': >"$d.new/node" && touch -r "$n" "$d.new/node" && : >"$d.new/entry" && touch -r "$e" "$d.new/entry" || fail',
  'rm -rf "$d" && mv "$d.new" "$d" || fail',
  'for x in "$c"/*; do case ${x##*/} in "${d##*/}" | "${d##*/}.new") ;; ????????-????-????-????-????????????*) rm -rf "$x" ;; esac; done',
].join('\n');

/**
 * bin/xenbridge names the directory it looked in (XENBRIDGE_SNAPSHOT_BUILD) when it found no
 * snapshot it could use: <root>/snapshot/<boot id>, the root its own (dist/cli beside the code,
 * the package's /var/cache/xenbridge). A value of any other shape, or of another boot, does nothing.
 */
export const buildSnapshotLater = (named: string): void => {
  const boot = bootId();
  if (boot === undefined || basename(named) !== boot || basename(dirname(named)) !== 'snapshot') return;
  const here = fileURLToPath(new URL('.', import.meta.url));
  detach('sh', ['-c', BUILD_SCRIPT, 'sh', named, join(here, 'snapshot.cjs'), process.execPath, join(here, 'main.js')], { logFile: '/dev/null' });
};
