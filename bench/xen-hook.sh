#!/usr/bin/env bash
# Inside real Xen dom0 (test/xen/run.sh -- bench/xen-hook.sh): the vif hook's `online` and `offline`
# wall time, ours (hooks/vif-xenbridge) vs Xen's own vif-bridge, on the same bridge, with the real
# xenstored; the vif is a veth standing in for netback's device. Median of N (default 11) each.
# Ours runs from the checkout (dist/) and, once `npm run package` has built it, from the package's
# bundle (build/pkgroot/usr/lib/xenbridge), in turn; then through the resident service
# (`xenbridge hookd`: the sh hook hands the event over its spool, no Node start per event).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=xen-lib.sh
. "$root/bench/xen-lib.sh"
n=${1:-11}
bundle=$root/build/pkgroot/usr/lib/xenbridge
xb_bench_bridge || exit 1
hook() { # SCRIPT DOMID ACTION (XENBRIDGE_BIN: the CLI our hook runs)
  env vif="vif$2.0" XENBUS_PATH="backend/vif/$2/0" XENBUS_TYPE=vif XENBUS_BASE_PATH=backend netdev= script="$1" "$1" "$3" type_if=vif >/dev/null 2>&1
}
run() { # SCRIPT DOMID [CLI]: prints "online_ms offline_ms"
  export XENBRIDGE_BIN=${3:-$root/bin/xenbridge}
  ip link add name "vif$2.0" type veth peer name "g$2"
  # Guards need the guest's MAC (antispoofing is on by default); vif-bridge ignores the key.
  xenstore-write "backend/vif/$2/0/bridge" xenbr0 "backend/vif/$2/0/mac" "00:16:3e:00:$(printf %02x $(($2 / 256))):$(printf %02x $(($2 % 256)))"
  local t; t=$(date +%s%N); hook "$1" "$2" online || echo "online failed: $1 $XENBRIDGE_BIN" >&2; local on; on=$(ms "$t")
  t=$(date +%s%N); hook "$1" "$2" offline || echo "offline failed: $1 $XENBRIDGE_BIN" >&2; local off; off=$(ms "$t")
  ip link del dev "vif$2.0"; xenstore-rm "backend/vif/$2" 2>/dev/null
  echo "$on $off"
}
ours=() pkg=() xen=()
for ((i = 0; i < n; i++)); do
  ours+=("$(run "$root/hooks/vif-xenbridge" $((100 + i)))")
  [[ -x $bundle/bin/xenbridge ]] && pkg+=("$(run "$root/hooks/vif-xenbridge" $((300 + i)) "$bundle/bin/xenbridge")")
  xen+=("$(run /etc/xen/scripts/vif-bridge $((200 + i)))")
done
# The service's rounds come last: while it runs, the hook hands it every event.
svc=()
if hookd_start; then
  for ((i = 0; i < n; i++)); do svc+=("$(run "$root/hooks/vif-xenbridge" $((400 + i)))"); done
fi
hookd_stop
col() { local c=$1; shift; printf '%s\n' "$@" | awk -v c="$c" '{print $c}' | median; }
echo "vif hook in an emulated Xen dom0 (TCG), median of $n:"
for c in 1 2; do
  what=$([[ $c == 1 ]] && echo "online: " || echo "offline:")
  o=$(col $c "${ours[@]}") x=$(col $c "${xen[@]}")
  if ((${#pkg[@]})); then
    p=$(col $c "${pkg[@]}")
    echo "  $what checkout $o ms  bundle $p ms  vif-bridge $x ms  -> bundle/checkout $(ratio "$p" "$o"), checkout/vif-bridge $(ratio "$o" "$x"), bundle/vif-bridge $(ratio "$p" "$x")"
  else
    echo "  $what ours $o ms  vif-bridge $x ms  -> $(ratio "$o" "$x")  (npm run package first to measure the bundle too)"
  fi
  if ((${#svc[@]})); then
    v=$(col $c "${svc[@]}")
    echo "  $what service $v ms  -> service/vif-bridge $(ratio "$v" "$x"), service/checkout $(ratio "$v" "$o")"
  fi
done
