#!/usr/bin/env bash
# test/xen/domu.sh — PV domUs for tests, used INSIDE dom0 (test/xen/run.sh -- ...).
#
#   domu.sh start NAME [OPTIONS]   write NAME's xl cfg, `xl create` it, wait for its results
#   domu.sh stop NAME              `xl destroy` NAME (waits until it is gone; 0 if already gone)
#   domu.sh run NAME [OPTIONS]     start, then stop (the status is start's)
#   domu.sh results NAME           the guest's result lines so far ("XBRESULT NAME ...")
#   domu.sh cfg NAME [OPTIONS]     print the xl cfg only
#
# OPTIONS
#   --vif SPEC      an xl vif spec, repeatable, e.g. 'mac=00:16:3e:00:00:11,bridge=xenbr0.10'.
#                   A spec without script= gets script=<--script>.
#   --script S      the vif hotplug script for --vif specs without script= (default
#                   $XENBRIDGE_XEN_VIF_SCRIPT, else vif-bridge). A bare name is looked up by xl in
#                   /etc/xen/scripts; an absolute path is used as it is.
#   --extra ARGS    guest instructions on its kernel command line (see domu-init.sh), e.g.
#                   'xb.ip=192.0.2.50/24 xb.vlan=20 xb.vip=10.20.0.50/24 xb.ping=10.20.0.1'
#   --mem MB        memory (default 192)
#   --timeout S     seconds to wait for the guest's "done" line (default 90)
#   --no-wait       return once `xl create` has succeeded
#
# start/run exit: 0 the guest reported fail=0; 1 a guest check failed; 2 no "done" line in time;
# 3 `xl create` failed (its output is on stderr and in $XB_DOMU_DIR/NAME.create.log).
# The result lines are printed on stdout. Files: $XB_DOMU_DIR (default /run/xenbridge-xen/domu)
# holds NAME.cfg, NAME.create.log, NAME.destroy.log; the guest console log is
# $XENBRIDGE_XEN_CONSOLE_DIR/guest-NAME.log (xenconsoled). With XENBRIDGE_XEN_VERBOSE set,
# start and stop print their timings on stderr.
set -uo pipefail
XB_DOMU_DIR=${XB_DOMU_DIR:-/run/xenbridge-xen/domu}
cache=${XENBRIDGE_XEN_CACHE:-$HOME/.cache/xenbridge-xen}
kernel=${XENBRIDGE_XEN_KERNEL:-$cache/boot/vmlinux}
initrd=${XENBRIDGE_XEN_DOMU_INITRD:-$cache/boot/domu-initrd.gz}
condir=${XENBRIDGE_XEN_CONSOLE_DIR:-/var/log/xen/console}

say() { printf 'domu.sh: %s\n' "$*" >&2; }
secs() { local a=${1/./} b=${2/./}; printf '%d.%d' "$(((b - a) / 1000000))" "$(((b - a) / 100000 % 10))"; }
usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 64; }

cmd=${1:-}; name=${2:-}
[[ -n $cmd && -n $name ]] || usage
[[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || { say "bad domain name: $name"; exit 64; }
shift 2
vifs=() script=${XENBRIDGE_XEN_VIF_SCRIPT:-vif-bridge} extra='' mem=192 wait_s=90 nowait=''
while (($#)); do
  case $1 in
    --vif) vifs+=("$2"); shift 2 ;;
    --script) script=$2; shift 2 ;;
    --extra) extra=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --timeout) wait_s=$2; shift 2 ;;
    --no-wait) nowait=1; shift ;;
    *) say "unknown option $1"; usage ;;
  esac
done
conlog=$condir/guest-$name.log

write_cfg() {
  local v sep='' list=''
  for v in "${vifs[@]}"; do
    [[ $v == *script=* ]] || v="${v:+$v,}script=$script"
    list+="$sep'$v'"; sep=', '
  done
  cat <<EOF
name = "$name"
type = "pv"
kernel = "$kernel"
ramdisk = "$initrd"
extra = "console=hvc0 quiet xb.id=$name $extra"
memory = $mem
vcpus = 1
vif = [ $list ]
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "destroy"
EOF
}

# Prints the result lines; sets done_line. No fork per poll: mapfile reads the file.
results() {
  local l lines=()
  done_line=
  [[ -f $conlog ]] || return 0
  mapfile -t lines <"$conlog"
  for l in "${lines[@]}"; do
    while [[ $l == *$'\r' ]]; do l=${l%$'\r'}; done
    [[ $l == "XBRESULT $name "* ]] || continue
    [[ ${1:-} == quiet ]] || printf '%s\n' "$l"
    [[ $l == "XBRESULT $name done "* ]] && done_line=$l
  done
  return 0
}

start() {
  mkdir -p "$XB_DOMU_DIR"
  write_cfg >"$XB_DOMU_DIR/$name.cfg"
  rm -f "$conlog"
  local t0=$EPOCHREALTIME t1
  # Never pipe xl create: its monitor child keeps the pipe open for the domain's lifetime.
  xl create "$XB_DOMU_DIR/$name.cfg" >"$XB_DOMU_DIR/$name.create.log" 2>&1 </dev/null
  local rc=$?
  if ((rc != 0)); then
    say "xl create $name failed (exit $rc):"
    cat "$XB_DOMU_DIR/$name.create.log" >&2
    return 3
  fi
  t1=$EPOCHREALTIME
  [[ -n $nowait ]] && return 0
  local deadline=$((SECONDS + wait_s))
  while :; do
    results quiet
    [[ -n $done_line ]] && break
    if ((SECONDS >= deadline)); then
      results
      say "$name: no result after ${wait_s} s; console log tail ($conlog):"
      tail -n 20 "$conlog" >&2 2>/dev/null
      return 2
    fi
    sleep 0.25
  done
  results
  [[ -n ${XENBRIDGE_XEN_VERBOSE:-} ]] &&
    say "$name: xl create $(secs "$t0" "$t1") s, guest results $(secs "$t1" "$EPOCHREALTIME") s later"
  [[ $done_line == *" fail=0"* ]] && return 0
  return 1
}

stop() {
  mkdir -p "$XB_DOMU_DIR"
  local t0=$EPOCHREALTIME
  # Already gone (xb.halt=1, on_crash, a failed create): nothing to do.
  xl domid "$name" >/dev/null 2>&1 || return 0
  xl destroy "$name" >"$XB_DOMU_DIR/$name.destroy.log" 2>&1 </dev/null
  local rc=$? n=0
  while xl domid "$name" >/dev/null 2>&1; do
    ((++n < 40)) || { say "$name still exists after xl destroy"; return 1; }
    sleep 0.25
  done
  [[ -n ${XENBRIDGE_XEN_VERBOSE:-} ]] && say "$name: xl destroy $(secs "$t0" "$EPOCHREALTIME") s"
  if ((rc != 0)); then
    say "xl destroy $name: exit $rc"
    cat "$XB_DOMU_DIR/$name.destroy.log" >&2
  fi
  return $rc
}

case $cmd in
  cfg) write_cfg ;;
  start) start ;;
  stop) stop ;;
  run) start; rc=$?; stop || ((rc)) || rc=1; exit $rc ;;
  results) results ;;
  *) usage ;;
esac
