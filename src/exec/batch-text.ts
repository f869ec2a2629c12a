/**
 * Pure parts of running batches: the failpoint tests use, how ip names a failed line, and the files
 * a recorded batch leaves behind.
 */
import { shown, XbError } from '../errors.js';

export type Tool = 'ip' | 'bridge' | 'nft' | 'dhcp' | 'sysctl';

export const FAIL_LINE: Record<Tool, string> = { ip: 'link set dev xb-failpoint up', bridge: 'vlan add dev xb-failpoint vid 1', nft: 'delete table bridge xb-failpoint', dhcp: 'fail xb-failpoint', sysctl: 'fail xb-failpoint' };

export interface BatchOptions {
  /** Keep going after a failed line (rollback: undo as much as possible). */
  force?: boolean;
  json?: boolean;
  details?: boolean;
  /** bridge -compressvlans: VLAN entries as ranges, one object per range instead of one per VID. */
  compressVlans?: boolean;
  /** Global index of the first line, so the failpoint can name one op of a whole apply. */
  firstIndex?: number;
  /**
   * Path prefix: run the batch so that it finishes, and leaves a record of how far it got, even if
   * this process dies (see recordFiles).
   */
  record?: string;
  /**
   * Batches run after this one by the same recorded process (record required, no force): the
   * result counts their lines after this one's, as if all were one batch.
   */
  then?: { tool: Tool; lines: string[] }[];
}

export interface BatchResult {
  ok: boolean;
  /** Lines that completed before the first failure (all of them when ok). */
  done: number;
  failedLine?: number;
  stdout: string;
  stderr: string;
  /** The failed batch may have been applied after all (a resident nft that died or hung with it). */
  uncertain?: boolean;
}

/** Fails global op `at`, or with kill kills this process just before it (crash tests). */
export interface Failpoint {
  kill: boolean;
  at: number;
}

/** XENBRIDGE_FAILPOINT's text: k fails global op k; kill:k kills this process just before op k. */
export const parseFailpoint = (fp: string | undefined): Failpoint | undefined => {
  if (!fp) return undefined;
  const m = /^(kill:)?(\d+)$/.exec(fp);
  if (!m) throw new XbError('usage', `XENBRIDGE_FAILPOINT must be N or kill:N, got ${shown(fp)}`);
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

/**
 * The DHCP client's batch: one line per action, `start IF DIR METRIC` or `stop IF DIR`, run by one
 * shell (arguments: netns or "", 1 to keep going after a failed line, the lines' file or "-").
 * dhcpcd keeps its pid, socket, DUID and lease under compiled-in /run/dhcpcd and /var/lib/dhcpcd;
 * it runs in a private mount namespace with DIR/run and DIR/db bound there, so each xenbridge
 * scope (a test's namespace too) has its own client files and the machine's stay untouched. Its
 * DUID is the machine's (copied once from /var/lib/dhcpcd/duid) and its IAID comes from the MAC
 * that dom0's interface took from the NIC, so the client ID the server knows stays the same; the
 * lease Debian's own dhcpcd holds for that name is copied too, so the client starts by renewing it
 * (a REQUEST, no DISCOVER).
 * A failed line is reported the way ip reports one ("Command failed -:N"), so journals and
 * recovery treat both alike. start and stop are idempotent: a live client (its pid file naming a
 * running dhcpcd) is not started twice, and stopping none is success.
 */
/**
 * Debian's /etc/dhcpcd.conf without what would change links the topology manages (interface_mtu)
 * or make addresses the planner does not know (IPv4LL, SLAAC: this client is IPv4 only).
 * persistent: a stopped client leaves the address; the journal's own steps take it away.
 */
export const DHCPCD_CONF = ['duid', 'persistent', 'noipv4ll', 'vendorclassid', 'option domain_name_servers, domain_name, domain_search', 'option classless_static_routes', 'option host_name', 'option rapid_commit', 'require dhcp_server_identifier'];

/**
 * The DHCPv6 client's: DHCPv6 only (noipv6rs, ia_na: it asks for an address at once). The kernel
 * takes the routers' advertisements (accept_ra, a journaled step) and so the default route; a
 * dhcpcd soliciting routers itself would handle them beside the kernel and change its settings
 * outside the journal.
 */
export const DHCPCD6_CONF = ['duid', 'persistent', 'noipv6rs', 'ia_na', 'option rapid_commit'];

const confLines = (lines: string[]): string => lines.map((l) => `'${l}'`).join(' ');

export const DHCP_BATCH = [
  'ns=$1; force=$2; [ "$3" = - ] || exec <"$3"',
  'nsx() { if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi; }',
  // An exited client not yet reaped (a zombie, "pid (dhcpcd) Z ...") has stopped: an init that reaps orphans late must not fail its stop.
  'alive() { case $1 in "" | *[!0-9]*) return 1 ;; esac; [ "$(cat /proc/"$1"/comm 2>/dev/null)" = dhcpcd ] && { read -r _p _c st _r </proc/"$1"/stat; } 2>/dev/null && [ "$st" != Z ] && [ "$st" != X ]; }',
  'n=0; rc=0',
  'while read -r verb ifn dir metric; do',
  '  n=$((n+1)); ok=0; fam=4; lease=$ifn.lease; conf=$dir/dhcpcd.conf',
  '  case $verb in start6|stop6) verb=${verb%6}; fam=6; lease=$ifn.lease6; conf=$dir/dhcpcd6.conf ;; esac',
  '  pidf=$dir/run/$ifn-$fam.pid; pid=$(cat "$pidf" 2>/dev/null)',
  '  case $verb in',
  '  start)',
  '    if alive "$pid"; then ok=1',
  '    elif ! command -v dhcpcd >/dev/null; then echo "dhcpcd is not installed (Debian: apt-get install dhcpcd-base)" >&2',
  '    elif mkdir -p "$dir/run" "$dir/db" /run/dhcpcd /var/lib/dhcpcd && { [ -e "$dir/db/duid" ] || [ ! -e /var/lib/dhcpcd/duid ] || cp /var/lib/dhcpcd/duid "$dir/db/duid"; } \\',
  '      && { [ -e "$dir/db/$lease" ] || [ ! -e "/var/lib/dhcpcd/$lease" ] || cp "/var/lib/dhcpcd/$lease" "$dir/db/$lease"; } \\',
  `      && if [ $fam = 4 ]; then printf '%s\\n' ${confLines(DHCPCD_CONF)}; else printf '%s\\n' ${confLines(DHCPCD6_CONF)}; fi >"$conf"; then`,
  '      rm -f "$pidf"; m=; [ "$metric" = - ] || m="-m $metric"',
  `      nsx unshare -m sh -c 'mount --bind "$1/run" /run/dhcpcd && mount --bind "$1/db" /var/lib/dhcpcd && shift && exec dhcpcd "$@"' sh "$dir" -$fam -b -f "$conf" $m "$ifn" </dev/null >>"$dir/$ifn.log" 2>&1`,
  '      i=0; while [ $i -lt 50 ] && ! alive "$(cat "$pidf" 2>/dev/null)"; do sleep 0.1; i=$((i+1)); done',
  '      alive "$(cat "$pidf" 2>/dev/null)" && ok=1',
  '    fi ;;',
  '  stop)',
  '    if alive "$pid"; then kill -TERM "$pid"; i=0; while alive "$pid" && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; fi',
  '    alive "$pid" || ok=1 ;;',
  '  esac',
  '  if [ $ok = 0 ]; then echo "$verb $ifn: the DHCP (IPv$fam) client did not $verb (see $dir/$ifn.log)" >&2; echo "Command failed -:$n" >&2; rc=1; [ "$force" = 1 ] || exit 1; fi',
  'done',
  'exit $rc',
].join('\n');

/** What `get IF` prints of an interface's IPv6 settings, in this order after its name. */
export const IPV6_CONF_READ = ['accept_ra', 'autoconf', 'forwarding'] as const;

/**
 * Per-interface IPv6 settings (ip cannot set sysctls): one shell per phase, run inside the
 * namespace (arguments: 1 to keep going after a failed line, the lines' file or "-"). `set IF KEY
 * VALUE` writes /proc/sys/net/ipv6/conf/IF/KEY and reads it back (`quiet IF accept_ra VALUE` the
 * same, and nothing where IF has no IPv6); `get IF` prints "IF" and the
 * values of IPV6_CONF_READ, or nothing for an interface that does not exist (or IPv6 off). A
 * failed line is reported as ip reports one ("Command failed -:N"), for journals and recovery.
 * A value written is read back by the shell's read where it is one character (every value a vif's
 * line writes): a boot storm's joint run has a line per vif, and a cat per line was most of its
 * sysctl phase. /proc/sys answers only a read from offset 0 and the shell reads a byte at a time, so
 * a longer value (an undo putting back a host's own) is read by cat.
 */
export const SYSCTL_BATCH = [
  'force=$1; [ "$2" = - ] || exec <"$2"',
  'same() { case $value in ?) v=; read -r v <"$d/$key"; [ "$v" = "$value" ] ;; *) [ "$(cat "$d/$key")" = "$value" ] ;; esac; }',
  'n=0; rc=0',
  'while read -r verb ifn key value; do',
  '  n=$((n+1)); ok=0; d=/proc/sys/net/ipv6/conf/$ifn',
  '  case $ifn in ""|*/*|.|..) verb=bad ;; esac',
  '  case $verb in',
  `  get) ok=1; [ ! -d "$d" ] || { printf %s "$ifn"; for k in ${IPV6_CONF_READ.join(' ')}; do printf ' %s' "$(cat "$d/$k")"; done; echo; } ;;`,
  '  set) case $key in accept_ra|autoconf) [ -e "$d/$key" ] && echo "$value" >"$d/$key" && same && ok=1 ;; esac ;;',
  '  quiet) case $key in accept_ra) if [ -e "$d/$key" ]; then echo "$value" >"$d/$key" && same && ok=1; else ok=1; fi ;; esac ;;',
  '  esac',
  '  if [ $ok = 0 ]; then echo "$verb $ifn $key $value: cannot set /proc/sys/net/ipv6/conf/$ifn/$key" >&2; echo "Command failed -:$n" >&2; rc=1; [ "$force" = 1 ] || exit 1; fi',
  'done',
  'exit $rc',
].join('\n');

/**
 * Every address of the namespace (arguments: ip's global options, e.g. -n NS), as JSON: `ip addr
 * show` dumps all links as well and matches each against every address, which at thousands of links
 * costs more than the whole `ip -j -d link show`; `addr save` dumps the addresses alone (netlink
 * messages) and `addr showdump` prints them as `addr show` would, each with its link's index. The
 * shell fails unless both did (a save that fails after its header would otherwise read as none).
 */
export const ADDR_DUMP = [
  'exec 3>&1',
  'r=$({ { ip "$@" addr save; echo "save $?" >&4; } | { ip -j addr showdump >&3; echo "show $?" >&4; }; } 4>&1)',
  'case $r in *"save 0"*"show 0"*|*"show 0"*"save 0"*) exit 0 ;; esac',
  'echo "cannot dump the addresses:" $r >&2; exit 1',
].join('\n');

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * One recorded shell running several batches in order (a guard's nft run and its port's ip batch):
 * one process to start and record instead of one per tool, and nothing else started: the output
 * is filtered with builtins (under emulation every process start costs about a hundred batch lines).
 * It stops at the first batch that fails and names the failed line in the whole, as ip names one
 * ("Command failed -:N"); a batch that fails without naming a line (nft, all or nothing) failed at
 * its first. `tmp` holds each batch's output. Arguments as RECORDED's, without a command.
 */
export const chainScript = (parts: { from: number; argv: string[] }[], tmp: string): string => [
  `p() { o=$1; shift; "$@" >${quote(tmp)} 2>&1; r=$?; n=`,
  `  while IFS= read -r l || [ -n "$l" ]; do case $l in "Command failed "*) [ -n "$n" ] || { n=\${l#Command failed }; n=\${n%% *}; n=\${n##*:}; n=\${n%%[!0-9]*}; } ;; *) printf '%s\\n' "$l" ;; esac; l=; done <${quote(tmp)}`,
  `  [ $r = 0 ] && return 0; echo "Command failed -:$((o + \${n:-1}))"; return $r; }`,
  'umask 077; echo $$ >"$1"; out=$2; rc=$3; shift 3',
  `{ ${parts.map((p) => `p ${p.from} ${p.argv.map(quote).join(' ')}`).join(' && ')}; } >"$out" 2>&1; echo $? >"$rc"`,
].join('\n');

/** How a batch runs: ip and bridge take -n NS; nft and /proc/sys/net have none, so they run under ip netns exec. */
export const batchArgvIn = (netns: string | undefined, tool: Tool, flags: string[], file: string): string[] => {
  const inNs = netns !== undefined ? ['ip', 'netns', 'exec', netns] : [];
  return tool === 'dhcp' ? ['sh', '-c', DHCP_BATCH, 'sh', netns ?? '', flags.includes('-force') ? '1' : '0', file]
    : tool === 'sysctl' ? [...inNs, 'sh', '-c', SYSCTL_BATCH, 'sh', flags.includes('-force') ? '1' : '0', file]
    : tool !== 'nft' ? [tool, ...flags, '-batch', file] : [...inNs, 'nft', '-f', file];
};

export const batchFlags = (netns: string | undefined, tool: Tool, o: { json?: boolean; details?: boolean; compressVlans?: boolean; force?: boolean }): string[] =>
  tool === 'nft' ? [] : tool === 'dhcp' || tool === 'sysctl' ? (o.force ? ['-force'] : [])
    : [...(netns !== undefined ? ['-n', netns] : []), ...(o.json ? ['-j'] : []), ...(o.details ? ['-d'] : []), ...(o.compressVlans ? ['-compressvlans'] : []), ...(o.force ? ['-force'] : [])];

/**
 * A failpoint at global op `fp.at` applied to a batch whose first line is op `first`: kill runs the
 * lines before it only; otherwise a failing line stands in for it (under force the batch goes on, as
 * it would past a real failure). hit: the failpoint falls in this batch.
 */
export const armLines = (tool: Tool, lines: string[], fp: Failpoint | undefined, first: number, force: boolean): { input: string[]; kill: boolean; hit: boolean } => {
  const local = fp ? fp.at - first : -1;
  if (!fp || local < 0 || local >= lines.length) return { input: lines, kill: false, hit: false };
  if (fp.kill) return { input: lines.slice(0, local), kill: true, hit: true };
  return { input: [...lines.slice(0, local), FAIL_LINE[tool], ...(force ? lines.slice(local + 1) : [])], kill: false, hit: true };
};
