#!/usr/bin/env bash
# Inside real Xen dom0 (test/xen/run.sh -- bench/xen-storm.sh [ROUNDS] [GUESTS]): a boot storm under
# Xen's own toolstack. GUESTS (default 8) PV guests are created at once with `xl create -p`: libxl
# runs the vif hotplug before a domain is first unpaused, so the storm is the hotplug work without
# booting the kernels. Timed until every `xl create -p` has returned; then every vif must be a
# port of xenbr0 with hotplug-status `connected`; then all are destroyed at once (timed too: the
# offlines). Three setups in each round, the two hooks' order alternating: no vif at all (what
# creating the domains costs anyway), Xen's vif-bridge, and hooks/vif-xenbridge handing its event
# to the resident service (`xenbridge hookd`, running for the whole bench as it would on a host).
# Prints the medians of ROUNDS (default 3), the ratios and the load average.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=xen-lib.sh
. "$root/bench/xen-lib.sh"
rounds=${1:-3} n=${2:-8} mem=96
dir=/run/xenbridge-storm
mkdir -p "$dir"
# xl hands its environment to the hotplug scripts: this is how our hook finds the CLI and the file.
export XENBRIDGE_BIN=$root/bin/xenbridge XB_DOMU_DIR=$dir
xb_bench_bridge || { echo "xenbridge apply failed" >&2; exit 1; }
echo "Xen free memory $(xl info | awk '$1 == "free_memory" {print $3}') MB for $n guests of $mem MB; load $(load)"
t=$(date +%s%N)
hookd_start || exit 1
echo "the hook service took $(ms "$t") ms to start"
trap hookd_stop EXIT

# storm SETUP ROUND: prints "create_ms destroy_ms bad", bad = guests not created, or not attached.
storm() {
  local setup=$1 r=$2 i name t pids=() bad=0 d vif=() k=1
  for ((i = 0; i < n; i++)); do
    name=st$r$setup$i
    case $setup in
      none) vif=() ;;
      xen) vif=(--script vif-bridge) ;;
      svc) vif=(--script "$root/hooks/vif-xenbridge") k=2 ;;
    esac
    [[ $setup == none ]] || vif+=(--vif "mac=00:16:3e:$(printf '%02x:%02x:%02x' "$r" "$k" "$i"),bridge=xenbr0")
    "$root/test/xen/domu.sh" cfg "$name" --mem "$mem" "${vif[@]}" >"$dir/$name.cfg"
  done
  t=$(date +%s%N)
  # Never pipe xl create: its monitor child keeps the pipe open for the domain's lifetime.
  for ((i = 0; i < n; i++)); do
    xl create -p "$dir/st$r$setup$i.cfg" >"$dir/st$r$setup$i.create.log" 2>&1 </dev/null &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || bad=$((bad + 1)); done
  local made; made=$(ms "$t")
  for ((i = 0; i < n; i++)); do
    name=st$r$setup$i
    d=$(xl domid "$name" 2>/dev/null) || { echo "  $setup: $name was not created: $(grep -m 2 error "$dir/$name.create.log" | tr "\n" " ")" >&2; continue; }
    [[ $setup == none ]] && continue
    local st master
    st=$(xenstore-read "backend/vif/$d/0/hotplug-status" 2>/dev/null)
    master=$(basename "$(readlink "/sys/class/net/vif$d.0/master" 2>/dev/null)" 2>/dev/null)
    [[ $st == connected && $master == xenbr0 ]] ||
      { bad=$((bad + 1)); echo "  $setup: $name (vif$d.0) hotplug-status '$st', bridge '$master'" >&2; }
  done
  t=$(date +%s%N) pids=()
  for ((i = 0; i < n; i++)); do xl destroy "st$r$setup$i" >/dev/null 2>&1 </dev/null & pids+=($!); done
  wait "${pids[@]}"
  local gone; gone=$(ms "$t")
  # Not timed: the domains and their vifs are gone before the next storm.
  for ((i = 0; i < 120; i++)); do xl list | grep -q "^st$r$setup" || break; sleep 0.5; done
  echo "$made $gone $bad"
}

none=() xen=() svc=() bad=0
for ((r = 0; r < rounds; r++)); do
  order=(svc xen); ((r % 2)) && order=(xen svc)
  for s in none "${order[@]}"; do
    before=$(grep -c 'onlines in one transaction' /run/xenbridge-bench-hookd.log)
    out=$(storm "$s" "$r")
    read -r c g b <<<"$out"
    bad=$((bad + b))
    eval "$s+=(\"\$c \$g\")"
    batches=''
    [[ $s == svc ]] && batches=", $(($(grep -c 'onlines in one transaction' /run/xenbridge-bench-hookd.log) - before)) joint transactions"
    echo "round $((r + 1)) $s: create $c ms, destroy $g ms, failed $b$batches; load $(load)"
  done
done
col() { local c=$1; shift; printf '%s\n' "$@" | awk -v c="$c" '{print $c}' | median; }
cn=$(col 1 "${none[@]}") cx=$(col 1 "${xen[@]}") cs=$(col 1 "${svc[@]}")
dn=$(col 2 "${none[@]}") dx=$(col 2 "${xen[@]}") ds=$(col 2 "${svc[@]}")
echo "boot storm in an emulated Xen dom0 (TCG): $n guests at once (xl create -p, $mem MB each), median of $rounds; load $(load):"
echo "  xl create -p: service $cs ms  vif-bridge $cx ms  no vif $cn ms  -> service/vif-bridge $(ratio "$cs" "$cx"); the hotplug share (minus no vif): service $((cs - cn)) ms, vif-bridge $((cx - cn)) ms -> $(ratio "$((cs - cn))" "$((cx - cn))")"
echo "  xl destroy:   service $ds ms  vif-bridge $dx ms  no vif $dn ms  -> service/vif-bridge $(ratio "$ds" "$dx")"
((bad == 0)) || { echo "  $bad guests failed or were not attached (see above)" >&2; exit 1; }
