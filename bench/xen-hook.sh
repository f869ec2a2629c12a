#!/usr/bin/env bash
# Inside real Xen dom0 (test/xen/run.sh -- bench/xen-hook.sh): the vif hook's `online` and `offline`
# wall time, ours (hooks/vif-xenbridge) vs Xen's own vif-bridge, on the same bridge, with the real
# xenstored; the vif is a veth standing in for netback's device. Median of N (default 11) each.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ -n ${XENBRIDGE_XEN_DOM0:-} ]] || { echo "run me inside dom0: test/xen/run.sh -- $0" >&2; exit 2; }
n=${1:-11}
export XENBRIDGE_BIN=$root/bin/xenbridge XENBRIDGE_CONFIG=/run/xenbridge-bench.yaml
printf 'version: 1\nbridges:\n  - name: xenbr0\n    dom0: {ifname: h0}\n' >"$XENBRIDGE_CONFIG"
node "$root/bin/xenbridge" apply >/dev/null || exit 1
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
hook() { # SCRIPT DOMID ACTION
  env vif="vif$2.0" XENBUS_PATH="backend/vif/$2/0" XENBUS_TYPE=vif XENBUS_BASE_PATH=backend netdev= script="$1" "$1" "$3" type_if=vif >/dev/null 2>&1
}
run() { # SCRIPT DOMID: prints "online_ms offline_ms"
  ip link add name "vif$2.0" type veth peer name "g$2"
  xenstore-write "backend/vif/$2/0/bridge" xenbr0
  local t; t=$(date +%s%N); hook "$1" "$2" online || echo "online failed: $1" >&2; local on; on=$(ms "$t")
  t=$(date +%s%N); hook "$1" "$2" offline || echo "offline failed: $1" >&2; local off; off=$(ms "$t")
  ip link del dev "vif$2.0"; xenstore-rm "backend/vif/$2" 2>/dev/null
  echo "$on $off"
}
ours=() xen=()
for ((i = 0; i < n; i++)); do
  ours+=("$(run "$root/hooks/vif-xenbridge" $((100 + i)))")
  xen+=("$(run /etc/xen/scripts/vif-bridge $((200 + i)))")
done
col() { local c=$1; shift; printf '%s\n' "$@" | awk -v c="$c" '{print $c}' | median; }
oo=$(col 1 "${ours[@]}") of=$(col 2 "${ours[@]}") xo=$(col 1 "${xen[@]}") xf=$(col 2 "${xen[@]}")
echo "vif hook in an emulated Xen dom0 (TCG), median of $n:"
echo "  online:  ours $oo ms  vif-bridge $xo ms  -> $(awk -v a="$oo" -v b="$xo" 'BEGIN {printf "%.2f", a / b}')x"
echo "  offline: ours $of ms  vif-bridge $xf ms  -> $(awk -v a="$of" -v b="$xf" 'BEGIN {printf "%.2f", a / b}')x"
