/**
 * The CLI's V8 startup snapshot: made in the background, after a command that ran without one
 * succeeded. A snapshot loads only into the node binary that made it, on the CPU it was made on
 * (V8 checks its version, flags and CPU features, and a mismatch ends node before any of our
 * code runs), so each is made for one boot (/proc's boot id) and stamped with the mtime of that
 * node binary and the sha256 of the bundle it was made from; bin/xenbridge uses one only when all match.
 */
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detach } from '../exec/runner.js';
import { bootId } from '../state/processes.js';

/**
 * $1 the boot's directory, $2 snapshot.cjs, $3 node, $4 main.js. One builder per boot: the mkdir
 * of $1.new is the claim, and a failed build keeps it (empty), so a full disk is tried again after
 * 10 minutes, not after every command; so is a claim left by a builder that was killed. A snapshot
 * already made for this node and bundle is left alone: a command that started before it was made
 * asks for one too, and replacing it would pull it from under a command starting from it. The
 * stamps are taken before the build and checked after it: a bundle or node replaced meanwhile
 * (npm run build, an upgrade) must not lend its stamps to a snapshot of what it replaced. The
 * bundle's stamp is its sha256 (bin/xenbridge compares it with dist/cli/snapshot.id).
 * The blob must start and answer --version before it goes into place, with its stamps, in one
 * rename; an old blob goes before its stamps, so that no kill leaves one without them. The
 * snapshots of other boots go then, and nothing that is not a snapshot directory of its own, wherever
 * it was pointed (an XENBRIDGE_SNAPSHOT_BUILD set by hand, one left in an environment).
 * nice: it must not slow what the host is doing (a boot's guests).
 * umask 077: a snapshot is code that root may run; bin/xenbridge runs only one its user owns.
 */
export const BUILD_SCRIPT = [
  'umask 077; d=$1 e=$2 n=$3 m=$4 c=${1%/*}',
  'sum() { sha256sum <"$e" | cut -d" " -f1; }',
  'i=$(sum) && [ -n "$i" ] || exit 1',
  'made() { [ -f "$d/cli.blob" ] && [ -f "$d/node" ] && [ ! "$d/node" -nt "$n" ] && [ ! "$d/node" -ot "$n" ] && read -r j 2>/dev/null <"$d/entry" && [ "$j" = "$i" ]; }',
  'made && exit 0',
  // What it removes, wherever it was pointed: only a directory of its own holding what it makes.
  'ours() { [ -d "$1" ] && [ ! -L "$1" ] && [ -O "$1" ] || return 1; for f in "$1"/* "$1"/.[!.]*; do case ${f##*/} in cli.blob | entry | node | "*" | ".[!.]*") ;; *) return 1 ;; esac; done; }',
  'mkdir -p "$c" || exit 1',
  'if ! mkdir "$d.new" 2>/dev/null; then [ -n "$(find "$d.new" -maxdepth 0 -mmin +10)" ] && ours "$d.new" || exit 0; rm -rf "$d.new"; mkdir "$d.new" || exit 0; fi',
  'made && { rm -rf "$d.new"; exit 0; }',
  'fail() { rm -f "$d.new"/*; exit 1; }',
  ': >"$d.new/node" && touch -r "$n" "$d.new/node" || fail',
  'nice -n 19 "$n" --snapshot-blob "$d.new/cli.blob" --build-snapshot "$e" || fail',
  '"$n" --snapshot-blob "$d.new/cli.blob" "$m" --version >/dev/null || fail',
  '[ "$(sum)" = "$i" ] && [ ! "$d.new/node" -nt "$n" ] && [ ! "$d.new/node" -ot "$n" ] && printf "%s\\n" "$i" >"$d.new/entry" || fail',
  '{ [ ! -e "$d" ] || { ours "$d" && rm -f "$d/cli.blob" && rm -rf "$d"; }; } && mv "$d.new" "$d" || fail',
  'for x in "$c"/*; do case ${x##*/} in "${d##*/}" | "${d##*/}.new") ;; ????????-????-????-????-????????????*) ! ours "$x" || rm -rf "$x" ;; esac; done',
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
