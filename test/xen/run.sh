#!/usr/bin/env bash
# test/xen/run.sh [--bed 4.17|4.20] [--] CMD [ARGS...] — boot Xen + a PV dom0 (Debian's kernel)
# under QEMU TCG and run CMD inside dom0; stream its output; exit with its status.
#
# Bed 4.17 (default; test/xen/prepare.sh): CMD runs in the host root (read-only 9p) with the Xen
# packages' root layered over it and a tmpfs on top (writes are allowed and lost at the end).
# Bed 4.20 (test/xen/prepare-4.20.sh): CMD runs in a Debian 13 root with a tmpfs on top; of the
# host, only the caller's cwd, this checkout, the bed's cache, the run's temp dir and the paths in
# XENBRIDGE_XEN_BIND (comma-separated) are there, read-only, at the same paths. In both:
#   cwd      = the caller's cwd
#   PATH     = /usr/lib/xen-4.NN/bin:/usr/sbin:/usr/bin:/sbin:/bin:<caller's PATH> (xl, xenstore-*)
#   env      = the caller's XENBRIDGE_* and CI, plus
#              XENBRIDGE_XEN_DOM0=1, XENBRIDGE_XEN_CACHE, XENBRIDGE_XEN_KERNEL (vmlinux for domUs),
#              XENBRIDGE_XEN_DOMU_INITRD, XENBRIDGE_XEN_CONSOLE_DIR (xenconsoled's guest logs)
#   stdout/stderr = a virtio serial port streamed to run.sh's stdout (not a tty); stdin empty.
# oxenstored, xen-init-dom0 and xenconsoled are running; `xl list` shows Domain-0.
#
# Environment (host side):
#   XENBRIDGE_XEN_CACHE    cache of prepare.sh (default ~/.cache/xenbridge-xen); for --bed 4.20
#                          XENBRIDGE_XEN420_CACHE (default ~/.cache/xenbridge-xen420)
#   XENBRIDGE_XEN_TIMEOUT  seconds for the whole run, boot included (default 900) -> exit 124
#   XENBRIDGE_XEN_VERBOSE  1: show Xen's "(XEN)" lines and the timings on stderr
#   XENBRIDGE_XEN_LOG      copy the full serial console log (Xen + dom0; each line prefixed with
#                          the seconds since qemu started) to this file
#   XENBRIDGE_XEN_QEMU     the qemu-system-x86_64 to run (default: the one on PATH); e.g. Debian 13's
#                          QEMU 10 that test/xen/prepare-qemu.sh extracts (it prints the path)
#   XENBRIDGE_XEN_CPU, XENBRIDGE_XEN_ACCEL, XENBRIDGE_XEN_SMP  qemu's -cpu (max), -accel (tcg)
#                          and -smp (2), for experiments
#   XENBRIDGE_XEN_FPU      eager (default): Xen switches FPU state between vCPUs eagerly
#                          (spec-ctrl=eager-fpu); lazy: through #NM, Xen's own choice on the AMD
#                          CPU that TCG's -cpu max is, under which processes in dom0 die (README.md)
#   XENBRIDGE_XEN_XEN_ARGS  extra hypervisor options; XENBRIDGE_XEN_DOM0_ARGS dom0 kernel
#                          options instead of "quiet"
# Exit: CMD's status; 124 timeout; 125 the bed failed (not prepared, qemu missing, boot failed;
# the tail of the console log is printed).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
XB_DIE_STATUS=125
# shellcheck source=lib.sh
. "$here/lib.sh"

bed=4.17
[[ ${1:-} == --bed ]] && { bed=${2:-}; shift 2; }
[[ ${1:-} == -- ]] && shift
[[ $bed == 4.17 || $bed == 4.20 ]] && (($#)) ||
  { echo "usage: test/xen/run.sh [--bed 4.17|4.20] [--] CMD [ARGS...]" >&2; exit 125; }

if [[ $bed == 4.20 ]]; then
  cache=${XENBRIDGE_XEN420_CACHE:-$HOME/.cache/xenbridge-xen420}
  prepare=test/xen/prepare-4.20.sh
else
  cache=${XENBRIDGE_XEN_CACHE:-$HOME/.cache/xenbridge-xen}
  prepare=test/xen/prepare.sh
fi
timeout_s=${XENBRIDGE_XEN_TIMEOUT:-900}
verbose=${XENBRIDGE_XEN_VERBOSE:-}
if [[ -n ${XENBRIDGE_XEN_QEMU:-} ]]; then
  qemu=$XENBRIDGE_XEN_QEMU
  [[ -x $qemu ]] || xb_die "XENBRIDGE_XEN_QEMU is not an executable: $qemu"
else
  qemu=$(command -v qemu-system-x86_64) ||
    xb_die "qemu-system-x86_64 not found: run test/xen/prepare.sh (apt-get install qemu-system-x86)"
fi
for f in ready boot/xen boot/vmlinux boot/dom0-initrd.gz boot/domu-initrd.gz root/usr/lib/xen-$bed/bin/xl; do
  [[ -e $cache/$f ]] || xb_die "the Xen $bed bed is not prepared ($cache/$f missing): run $prepare"
done
case ${XENBRIDGE_XEN_FPU:-eager} in
  eager) fpu=spec-ctrl=eager-fpu ;;
  lazy) fpu=spec-ctrl=no-eager-fpu ;;
  *) xb_die "XENBRIDGE_XEN_FPU must be eager or lazy: ${XENBRIDGE_XEN_FPU}" ;;
esac
[[ $cache != *[,\ ]* ]] || xb_die "XENBRIDGE_XEN_CACHE must not contain a comma or a space: $cache"

tmp=$(mktemp -d /tmp/xenbridge-xen.XXXXXX)
qpid=
cleanup() {
  [[ -n $qpid ]] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
  [[ -n ${XENBRIDGE_XEN_LOG:-} && -f $tmp/console.log ]] && cp "$tmp/console.log" "$XENBRIDGE_XEN_LOG"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# dom0's init runs cmd.sh (read over the host root share) with XB_OUT = the virtio serial port
# "xb.out": dom0 setup (its messages go to the console log), then on XB_OUT the start marker and
# inner.sh (test/vm/lib.sh vm_write_cmd_script: the caller's cwd and chosen variables, exec CMD).
# CMD's output thus bypasses Xen's console, which drops characters when flooded and interleaves
# Xen's and the kernel's messages; CMD's stdout/stderr are that port (not a terminal).
xenpath=/usr/lib/xen-$bed/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
(
  export PATH=$xenpath:$PATH LANG=C.UTF-8
  export XENBRIDGE_XEN_DOM0=1 XENBRIDGE_XEN_BED=$bed XENBRIDGE_XEN_CACHE=$cache XENBRIDGE_XEN_KERNEL=$cache/boot/vmlinux \
    XENBRIDGE_XEN_DOMU_INITRD=$cache/boot/domu-initrd.gz XENBRIDGE_XEN_CONSOLE_DIR=/var/log/xen/console
  mapfile -t vars < <(compgen -e | grep -E '^XENBRIDGE_')
  vm_write_cmd_script "$tmp/inner.sh" "$PWD" PATH HOME LANG CI "${vars[@]}" -- "$@"
)
cat >"$tmp/cmd.sh" <<EOF
#!/bin/bash
export PATH=$xenpath
bash $(printf %q "$here/dom0-start.sh") || exit 125
exec >"\${XB_OUT:-/dev/console}" 2>&1 </dev/null
echo @@XENBRIDGE-XEN-START@@
exec bash $tmp/inner.sh
EOF
chmod 0755 "$tmp" "$tmp/cmd.sh"
binds=
if [[ $bed == 4.20 ]]; then
  # Sorted, so that a parent is bound before its children (dom0-init.sh binds in this order).
  IFS=, read -r -a extra <<<"${XENBRIDGE_XEN_BIND:-}"
  binds=$(printf '%s\n' "$tmp" "$cache" "$PWD" "$(cd "$here/../.." && pwd)" "${extra[@]}" | sed '/^$/d' | LC_ALL=C sort -u)
  [[ $binds != *[\ ,:]* ]] || xb_die "paths bound into the 4.20 dom0 must contain no space, comma or colon: $binds"
  binds="xb.bind=$(paste -sd: <<<"$binds")"
fi

mkfifo "$tmp/serial" "$tmp/out"
t0=$(date +%s.%N)
t0us=${EPOCHREALTIME/./}
# dom0 gets one vCPU (as measured when it was chosen, the suite runs faster so). With Xen's lazy
# FPU switching under this TCG, processes in dom0 die or compute garbage whatever they run; eager
# switching ended it: see README.md, "Processes dying under emulation" (XENBRIDGE_XEN_FPU and
# XENBRIDGE_XEN_ACCEL/CPU/SMP are the knobs those measurements used).
timeout -s TERM "$timeout_s" "$qemu" -accel "${XENBRIDGE_XEN_ACCEL:-tcg}" -cpu "${XENBRIDGE_XEN_CPU:-max}" \
  -smp "${XENBRIDGE_XEN_SMP:-2}" -m 2048 \
  -nodefaults -no-user-config -display none -monitor none -no-reboot \
  -chardev file,id=con,path="$tmp/serial" -serial chardev:con \
  -device virtio-serial-pci,id=vser0 \
  -chardev file,id=out,path="$tmp/out" -device virtserialport,bus=vser0.0,chardev=out,name=xb.out \
  -kernel "$cache/boot/xen" \
  -append "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=1 bootscrub=0 smap=0 $fpu ${XENBRIDGE_XEN_XEN_ARGS:-}" \
  -initrd "$cache/boot/vmlinux console=hvc0 ${XENBRIDGE_XEN_DOM0_ARGS:-quiet} xb.run=$tmp/cmd.sh $binds,$cache/boot/dom0-initrd.gz" \
  -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
  -virtfs local,path="$cache/root",mount_tag=xen,security_model=none,readonly=on \
  </dev/null >/dev/null 2>"$tmp/qemu.err" &
qpid=$!

# The serial console (Xen, dom0 kernel, dom0 setup) goes to console.log, each line stamped with
# the seconds since qemu started; Xen's serial driver and the tty each turn \n into \r\n.
while IFS= read -r line || [[ -n $line ]]; do
  while [[ $line == *$'\r' ]]; do line=${line%$'\r'}; done
  dt=$(((${EPOCHREALTIME/./} - t0us) / 100000))
  printf '[%4d.%d] %s\n' "$((dt / 10))" "$((dt % 10))" "$line"
  [[ -n $verbose && $line == '(XEN)'* ]] && printf '%s\n' "$line" >&2
done <"$tmp/serial" >"$tmp/console.log" &
cpid=$!

elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
# CMD's output: streamed line by line (mawk needs -W interactive for that), markers hidden.
# Writes "started" to $tmp/started and the exit status to $tmp/status.
awkopt=()
awk -W version 2>&1 | grep -q mawk && awkopt=(-W interactive)
awk "${awkopt[@]}" -v dir="$tmp" -v verbose="$verbose" -v t0="$t0" '
  !started && $0 == "@@XENBRIDGE-XEN-START@@" {
    started = 1; print "started" > (dir "/started"); close(dir "/started")
    if (verbose != "") {
      "date +%s.%N" | getline now
      printf "xenbridge-xen: boot to command: %.1f s\n", now - t0 > "/dev/stderr"
    }
    next
  }
  /@@XENBRIDGE-XEN-EXIT=[0-9]+@@$/ {
    i = index($0, "@@XENBRIDGE-XEN-EXIT=")
    if (i > 1) print substr($0, 1, i - 1)
    s = substr($0, i + 21); sub(/@@$/, "", s)
    print s > (dir "/status"); close(dir "/status")
    exit
  }
  { print; fflush() }
' <"$tmp/out"

[[ -n $verbose ]] && xb_say "total: $(elapsed) s"
kill "$qpid" 2>/dev/null
wait "$qpid"
qrc=$?
qpid=
wait "$cpid"
status=$(cat "$tmp/status" 2>/dev/null)
if [[ -f $tmp/started && $status =~ ^[0-9]+$ ]]; then
  exit "$status"
fi
if [[ $qrc == 124 ]]; then
  xb_say "error: timed out after ${timeout_s} s (XENBRIDGE_XEN_TIMEOUT); last console lines:"
  tail -n 40 "$tmp/console.log" >&2
  exit 124
fi
if [[ -n $status ]]; then
  xb_say "error: dom0 did not get ready (status $status); last console lines:"
else
  xb_say "error: Xen/dom0 stopped before the command finished (qemu exit $qrc); last console lines:"
fi
tail -n 40 "$tmp/console.log" >&2
[[ -s $tmp/qemu.err ]] && { xb_say "qemu stderr:"; tail -n 20 "$tmp/qemu.err" >&2; }
exit 125
