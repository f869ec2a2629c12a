# Sourced by the benches that run inside the emulated Xen dom0 (bench/xen-hook.sh, bench/xen-storm.sh):
# the bench topology, the hook service's start and stop, and the figures' arithmetic.
# Needs $root (the checkout).
[[ -n ${XENBRIDGE_XEN_DOM0:-} ]] || { echo "run me inside dom0: test/xen/run.sh -- $0" >&2; exit 2; }
export XENBRIDGE_CONFIG=/run/xenbridge-bench.yaml
xb_bench_bridge() { # one bridge xenbr0 with dom0's port h0, applied by this checkout
  printf 'version: 1\nbridges:\n  - name: xenbr0\n    dom0: {ifname: h0}\n' >"$XENBRIDGE_CONFIG"
  node "$root/bin/xenbridge" apply >/dev/null
}
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# The service (`xenbridge hookd`) in the background until hookd_stop; 1 if its spool never appeared.
hookd_pid=
hookd_start() {
  node "$root/bin/xenbridge" hookd 2>/run/xenbridge-bench-hookd.log &
  hookd_pid=$!
  local spool=${XENBRIDGE_RUN_DIR:-/run/xenbridge}/host/hookd w=0
  while [[ ! -p $spool/fifo ]] && ((w++ < 600)); do sleep 0.1; done
  [[ -p $spool/fifo ]] && return 0
  echo "the hook service did not start: $(head -n 3 /run/xenbridge-bench-hookd.log)" >&2
  return 1
}
hookd_stop() {
  [[ -n $hookd_pid ]] || return 0
  kill "$hookd_pid" 2>/dev/null; wait "$hookd_pid" 2>/dev/null; hookd_pid=
}
