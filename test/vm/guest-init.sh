#!/bin/sh
# shellcheck shell=dash # really busybox ash, which also has pipefail
# test/vm/guest-init.sh — PID 1 of the test VM (busybox ash inside the initramfs that
# test/vm/prepare.sh builds). Not run on the host.
#
# Kernel command line parameters (unknown name=value pairs reach init as variables):
#   xbvm_script=PATH   host path of the sh script to run (written by run.sh, seen over 9p)
#   xbvm_tty=0|1       1: the command's stdout is the console tty (caller has a terminal);
#                      0: a pipe, as the caller's stdout is a pipe/file (no TTY escapes in logs)
#   xbvm_rows/xbvm_cols  terminal size when xbvm_tty=1
#   xbvm_modules=PATH  host path of lib/modules/<version> (for modprobe on demand), optional
#   xbvm_9p=OPTS       extra 9p mount options (cache mode), optional
# Output: the command's stdout+stderr on the console (ttyS0); then one line
# "XENBRIDGE_VM_EXIT=<status>" on ttyS1, the status channel run.sh reads. Then power off.
export PATH=/bin

# The cpio has no /dev/console, so the kernel started us without stdio: get it from devtmpfs.
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1

report() {
  # Closing ttyS1 after the write waits until the byte left the UART, so nothing is lost
  # when we power off right after.
  echo "XENBRIDGE_VM_EXIT=$1" >/dev/ttyS1
  poweroff -f
}
fail() { echo "xenbridge-vm guest: $*"; report 125; }
# xbvm_debug=1 (XENBRIDGE_VM_DEBUG=1): time stamps of the steps, in seconds since boot.
stamp() { [ "${xbvm_debug:-0}" = 1 ] || return 0; read -r up _ </proc/uptime; echo "[init $up] $*"; }

mount -t proc proc /proc
mkdir -p /host /rw /root
stamp start
for m in /lib/modules/*.ko; do
  [ -e "$m" ] || continue
  insmod "$m" || fail "insmod $m failed"
done

# Host root, read-only, under a tmpfs overlay: the command may write anywhere (it all goes to
# guest RAM and vanishes at power-off) and can never change the host.
stamp modules loaded
mount -t 9p -o "trans=virtio,version=9p2000.L,ro,msize=262144${xbvm_9p:+,$xbvm_9p}" host /host ||
  fail "cannot mount the host root over 9p"
mount -t tmpfs -o mode=0755 rw /rw
mkdir /rw/upper /rw/work
mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work root /root ||
  fail "cannot mount the overlay"
mount -t proc proc /root/proc
mount -t sysfs sys /root/sys
mount -t devtmpfs dev /root/dev
mount -t devpts -o newinstance,ptmxmode=0666 devpts /root/dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777 shm /root/dev/shm 2>/dev/null
mount -t tmpfs -o mode=0755 run /root/run

# Modules not preloaded are loaded on demand by the kernel through /sbin/modprobe (busybox, in
# this initramfs) reading the extracted modules tree; the chroot sees the same tree.
if [ -n "${xbvm_modules:-}" ] && [ -d "/host$xbvm_modules" ]; then
  read -r kver </proc/sys/kernel/osrelease
  mkdir -p "/lib/modules/$kver" "/root/lib/modules/$kver"
  mount --bind "/host$xbvm_modules" "/lib/modules/$kver"
  mount --bind "/host$xbvm_modules" "/root/lib/modules/$kver"
fi

stamp mounted
ip link set lo up
hostname xenbridge-vm

[ -n "${xbvm_script:-}" ] || fail "no xbvm_script= on the kernel command line"
# No CR before LF: the output must reach the caller byte for byte.
stty -onlcr
set -o pipefail
stamp "run $xbvm_script"
if [ "${xbvm_tty:-0}" = 1 ]; then
  [ -n "${xbvm_rows:-}" ] && stty rows "$xbvm_rows" cols "${xbvm_cols:-80}"
  env -i chroot /root /bin/sh "$xbvm_script" </dev/null
else
  env -i chroot /root /bin/sh "$xbvm_script" </dev/null 2>&1 | cat
fi
rc=$?
stamp "exit $rc"
# Let the console drain (stty waits for pending output) before the status line ends the run.
stty -onlcr
report "$rc"
