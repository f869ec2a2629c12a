#!/bin/busybox sh
# /init of the dom0 initramfs (busybox). Built into dom0-initrd.gz by test/xen/prepare*.sh.
# Loads the modules, assembles the root  = tmpfs over (Xen root 9p "xen") over (host root 9p
# "host"), or, with xb.bind=PATH[:PATH...] (the Debian 13 bed), tmpfs over the Xen root alone
# with each PATH of the host bound at the same place (read-only); and runs the script named by xb.run= on the kernel command line inside it, with
# XB_OUT = the virtio serial port named xb.out. Prints "@@XENBRIDGE-XEN-EXIT=<status>@@" on
# XB_OUT and the console when that script ends, and reboots (qemu runs -no-reboot).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/console 2>&1

say() { read -r up _ </proc/uptime; echo "xen-bed dom0-init: [$up] $*"; }
out=/dev/console
finish() {
  echo "@@XENBRIDGE-XEN-EXIT=$1@@"
  if [ "$out" != /dev/console ]; then
    echo "@@XENBRIDGE-XEN-EXIT=$1@@" >"$out"
    # run.sh stops qemu once it has read the marker. Rebooting now could drop port data that
    # qemu has not passed on yet.
    sleep 30
  fi
  reboot -f
  sleep 60
}
fail() { say "FATAL: $*"; finish 125; }

say "loading modules"
# vm_build_initramfs (test/vm/lib.sh) names them NN-name.ko: glob order = load order.
for m in /lib/modules/*.ko; do
  insmod "$m" || say "insmod $m failed"
done

# The command's output channel: the virtio serial port named xb.out (the console if absent).
out=/dev/console
for p in /sys/class/virtio-ports/*; do
  [ "$(cat "$p/name" 2>/dev/null)" = xb.out ] && out=/dev/${p##*/}
done

run= binds=
for a in $(cat /proc/cmdline); do
  case $a in
    xb.run=*) run=${a#xb.run=} ;;
    xb.bind=*) binds=$(echo "${a#xb.bind=}" | tr : ' ') ;;
  esac
done

say "mounting"
p9="trans=virtio,version=9p2000.L,msize=512000,cache=loose"
mkdir -p /mnt/host /mnt/xen /mnt/rw /newroot
mount -t 9p -o "ro,$p9" host /mnt/host || fail "cannot mount the host root (9p tag host)"
mount -t 9p -o "ro,$p9" xen /mnt/xen || fail "cannot mount the Xen root (9p tag xen)"
mount -t tmpfs -o mode=0755 rw /mnt/rw || fail "tmpfs"
mkdir -p /mnt/rw/upper /mnt/rw/work
lower=/mnt/xen:/mnt/host
[ -n "$binds" ] && lower=/mnt/xen
mount -t overlay -o lowerdir=$lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay /newroot ||
  fail "overlay mount failed"

r=/newroot
mount -t proc proc $r/proc || fail "proc"
mount -t xenfs xenfs $r/proc/xen || fail "cannot mount xenfs on /proc/xen"
mount -t sysfs sysfs $r/sys
mount -t devtmpfs devtmpfs $r/dev
mkdir -p $r/dev/pts $r/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $r/dev/pts
mount -t tmpfs -o mode=1777 shm $r/dev/shm
mount -t tmpfs -o mode=0755 run $r/run
hostname dom0
# Parents come before children in the list (run.sh sorts it), so a later bind is not hidden.
for b in $binds; do
  mkdir -p "$r$b" && mount --bind "/mnt/host$b" "$r$b" || fail "cannot bind the host's $b"
done

[ -n "$run" ] || fail "no xb.run= on the kernel command line"
say "running $run"
XB_OUT=$out chroot $r /bin/bash "$run"
finish $?
