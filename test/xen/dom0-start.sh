#!/bin/bash
# test/xen/dom0-start.sh — runs inside dom0 (chroot of host root + Xen root), from run.sh's
# command script, before the caller's command: starts oxenstored, xen-init-dom0, xenconsoled.
# Exits non-zero with a message when dom0 is not usable.
set -u
export XENSTORED_ROOTDIR=/run/xenstored
say() { echo "xen-bed dom0: $*"; }
fail() { say "FATAL: $*"; exit 1; }

say "start at uptime $(cut -d' ' -f1 /proc/uptime) s"
ip link set lo up
# /var/run and /var/lock are symlinks into /run on the host: create their targets.
mkdir -p /run/lock /run/xen /run/xenstored /run/xen-hotplug /var/log/xen/console /var/lib/xen /var/lib/xenstored

oxenstored --pid-file /run/xen/xenstored.pid || fail "oxenstored did not start"
n=0
until timeout 2 xenstore-read -s / >/dev/null 2>&1; do
  n=$((n + 1))
  ((n < 30)) || fail "xenstored does not answer"
  sleep 0.2
done
xen-init-dom0 >/run/xen/xen-init-dom0.log 2>&1 || { cat /run/xen/xen-init-dom0.log; fail "xen-init-dom0 failed"; }
xenconsoled --pid-file=/run/xen/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console ||
  fail "xenconsoled did not start"
if ! timeout 20 xl list >/run/xen/xl-list.log 2>&1 || ! grep -q '^Domain-0' /run/xen/xl-list.log; then
  cat /run/xen/xl-list.log
  fail "xl list does not show Domain-0"
fi
say "ready at uptime $(cut -d' ' -f1 /proc/uptime) s"
