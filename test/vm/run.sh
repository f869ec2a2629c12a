#!/usr/bin/env bash
# test/vm/run.sh [--mem MB] -- CMD [ARG...]
#
# Runs CMD inside a QEMU (TCG) VM on Debian's stock kernel (802.1Q, vlan_filtering), with the
# host root mounted read-only under a tmpfs overlay, in the caller's working directory and
# with the caller's PATH, HOME, CI, TERM, XENBRIDGE_* and VITEST* variables (plus the names
# listed in XENBRIDGE_VM_ENV). CMD's stdout+stderr stream to our stdout; we exit with CMD's
# status. Writes inside the VM land in guest RAM and are gone when it powers off.
#   XENBRIDGE_VM_TIMEOUT  seconds before a hung guest is killed (default 900)
#   XENBRIDGE_VM_DEBUG=1  show firmware/kernel messages; XENBRIDGE_VM_APPEND and
#   XENBRIDGE_VM_QEMU_ARGS add kernel command line words / qemu arguments (experiments)
#   XENBRIDGE_VM_CACHE    where test/vm/prepare.sh put the kernel (default ~/.cache/xenbridge-vm)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/vm/lib.sh
. "$here/lib.sh"

usage() { vm_die "usage: test/vm/run.sh [--mem MB] -- CMD [ARG...]"; }
mem=1536
while (($#)); do
  case $1 in
    --mem) [[ ${2:-} =~ ^[0-9]+$ ]] || usage; mem=$2; shift 2 ;;
    --mem=*) mem=${1#--mem=}; [[ $mem =~ ^[0-9]+$ ]] || usage; shift ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
  esac
done
(($#)) || usage
timeout_s=${XENBRIDGE_VM_TIMEOUT:-900}
[[ $timeout_s =~ ^[0-9]+$ ]] || vm_die "XENBRIDGE_VM_TIMEOUT must be a number of seconds"

command -v qemu-system-x86_64 >/dev/null ||
  vm_die "qemu-system-x86_64 is not installed: run test/vm/prepare.sh first"
cache=$(vm_cache_dir)
kver=$(cat "$cache/current" 2>/dev/null) || kver=
kdir=$cache/$kver
if [[ -z $kver || ! -f $kdir/initrd.gz || ! -f $kdir/root/boot/vmlinuz-$kver ]]; then
  vm_die "the VM test bed is not prepared (no kernel/initramfs in $cache): run test/vm/prepare.sh first"
fi

# The guest sees the host's / over 9p, so a host temp dir is how the command gets in.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xenbridge-vm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[[ $tmp != *[[:space:]]* ]] || vm_die "temp dir path has white space: $tmp (set TMPDIR)"
chmod 0755 "$tmp"

vars=(PATH HOME CI TERM)
for v in $(compgen -e); do
  [[ $v == XENBRIDGE_* || $v == VITEST* ]] && vars+=("$v")
done
# shellcheck disable=SC2206 # a space separated list of names, by design
[[ -n ${XENBRIDGE_VM_ENV:-} ]] && vars+=(${XENBRIDGE_VM_ENV})
export XENBRIDGE_IN_VM=1
vars+=(XENBRIDGE_IN_VM)
vm_write_cmd_script "$tmp/cmd.sh" "$PWD" "${vars[@]}" -- "$@"

# The command sees a terminal only when our caller's stdout is one (so CI logs carry no
# cursor movement); then it gets our window size.
tty=0 size=
if [[ -t 1 ]]; then
  tty=1
  size=$(stty size 2>/dev/null </dev/tty) || size=
  [[ $size =~ ^[0-9]+\ [0-9]+$ ]] && size=" xbvm_rows=${size% *} xbvm_cols=${size#* }" || size=
fi

kernel=$kdir/vmlinux
[[ -f $kernel ]] || kernel=$kdir/root/boot/vmlinuz-$kver
# qboot (in qemu-system-data) starts the kernel much sooner than SeaBIOS.
bios=()
[[ -f /usr/share/qemu/qboot.rom ]] && bios=(-bios /usr/share/qemu/qboot.rom)

# tsc=reliable: TCG's TSC is one clock for all vCPUs; otherwise the kernel finds it
# "unsynchronized", falls back to HPET and every clock read (V8 does many) is an emulated
# MMIO. cryptomgr.notests: skip the crypto self-tests (0.3 s).
# lpj: skip the second vCPU's delay-loop calibration (slow and failing under TCG).
# xbvm_9p=cache=loose: the guest caches host files and lookups (the host side is read-only
# and only lives as long as the command): node starts in ~2 s instead of ~4.5 s.
append="console=ttyS0 panic=-1 tsc=reliable cryptomgr.notests lpj=10000000 xbvm_9p=cache=loose"
# XENBRIDGE_VM_DEBUG=1 shows firmware and kernel messages (boot problems, timing).
[[ ${XENBRIDGE_VM_DEBUG:-} == 1 ]] && append+=" printk.time=1 xbvm_debug=1" || append+=" quiet loglevel=0"
append+=" ${XENBRIDGE_VM_APPEND:-}"
append+=" xbvm_script=$tmp/cmd.sh xbvm_tty=$tty$size xbvm_modules=$kdir/root/lib/modules/$kver"

set +e
# shellcheck disable=SC2086 # XENBRIDGE_VM_QEMU_ARGS is a list of words, by design
vm_qemu_run "$timeout_s" "$tmp/status" \
  qemu-system-x86_64 -accel tcg -m "$mem" -smp 2 -nographic -no-reboot \
  -nodefaults -no-user-config \
  -serial stdio -serial "file:$tmp/status" \
  -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
  "${bios[@]}" -kernel "$kernel" -initrd "$kdir/initrd.gz" -append "$append" \
  ${XENBRIDGE_VM_QEMU_ARGS:-}
rc=$?
set -e
case $VM_OUTCOME in
  exited) exit "$rc" ;;
  interrupted) vm_say "interrupted: the VM was stopped"; exit 130 ;;
  timeout) vm_say "the VM was killed after XENBRIDGE_VM_TIMEOUT=${timeout_s}s (command: $*)"; exit 124 ;;
  *) vm_say "the VM stopped without reporting the command's status (qemu error or guest crash)"; exit 125 ;;
esac
