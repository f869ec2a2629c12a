#!/usr/bin/env bash
# Inside real Xen dom0 (test/xen/run.sh -- bench/xen-storm.sh [N] [ROUNDS]): a boot storm, `xl create`
# of N guests at once (default 8), each with one vif on xenbr0, plugged by our hook through the
# resident service (`xenbridge hookd`, guards on) vs by Xen's own vif-bridge (no guards), in
# alternating rounds (default 2). The wall time runs from the first `xl create` to the last one's
# return (xl returns once every vif's hotplug script has finished). Then the guests are destroyed.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ -n ${XENBRIDGE_XEN_DOM0:-} ]] || { echo "run me inside dom0: test/xen/run.sh -- $0" >&2; exit 2; }
n=${1:-8} rounds=${2:-2}
# xl hands the hotplug scripts its own environment: this is how our hook finds the CLI and the file.
export XENBRIDGE_BIN="$root/bin/xenbridge" XENBRIDGE_CONFIG=/run/xenbridge-storm.yaml
printf 'version: 1\nbridges:\n  - name: xenbr0\n    dom0: {ifname: h0}\n' >"$XENBRIDGE_CONFIG"
node "$root/bin/xenbridge" apply >/dev/null || exit 1
node "$root/bin/xenbridge" hookd 2>/run/xenbridge-storm-hookd.log &
hookd=$!
spool=${XENBRIDGE_RUN_DIR:-/run/xenbridge}/host/hookd
w=0; while [[ ! -p $spool/fifo ]] && ((w++ < 600)); do sleep 0.1; done
[[ -p $spool/fifo ]] || { echo "the hook service did not start: $(head -n 3 /run/xenbridge-storm-hookd.log)" >&2; exit 1; }

# The guests' kernel and initrd from dom0's RAM, as the scenarios do (xl reads them at every create).
mkdir -p /run/xb-boot
cp "$XENBRIDGE_XEN_KERNEL" /run/xb-boot/vmlinux && cp "$XENBRIDGE_XEN_DOMU_INITRD" /run/xb-boot/domu-initrd.gz
export XENBRIDGE_XEN_KERNEL=/run/xb-boot/vmlinux XENBRIDGE_XEN_DOMU_INITRD=/run/xb-boot/domu-initrd.gz
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
storm() { # SCRIPT TAG: prints the milliseconds N concurrent `xl create`s took, and how many failed
  local t pids=() failed=0 i
  t=$(date +%s%N)
  for ((i = 1; i <= n; i++)); do
    "$root/test/xen/domu.sh" start "$2$i" --script "$1" --mem 96 --no-wait \
      --vif "mac=00:16:3e:5$2:00:$(printf %02x "$i"),bridge=xenbr0" >/dev/null 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || failed=$((failed + 1)); done
  local took; took=$(ms "$t")
  local ports; ports=$(ls /sys/class/net/xenbr0/brif | grep -c '^vif')
  for ((i = 1; i <= n; i++)); do "$root/test/xen/domu.sh" stop "$2$i" >/dev/null 2>&1 & done
  wait
  for ((w = 0; w < 600 && $(xl list | tail -n +2 | wc -l) > 1; w++)); do sleep 0.2; done
  echo "$took $failed $ports"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ours=() xen=()
for ((r = 0; r < rounds; r++)); do
  if ((r % 2 == 0)); then ours+=("$(storm "$root/hooks/vif-xenbridge" 1)"); fi
  xen+=("$(storm vif-bridge 2)")
  if ((r % 2 == 1)); then ours+=("$(storm "$root/hooks/vif-xenbridge" 1)"); fi
done
kill "$hookd" 2>/dev/null; wait "$hookd" 2>/dev/null
col() { local c=$1; shift; printf '%s\n' "$@" | awk -v c="$c" '{print $c}' | median; }
o=$(col 1 "${ours[@]}") x=$(col 1 "${xen[@]}")
echo "boot storm in an emulated Xen dom0 (TCG): $n guests created at once, median of $rounds:"
echo "  ours (service, guards on) $o ms  vif-bridge $x ms  -> ours/vif-bridge $(awk -v a="$o" -v b="$x" 'BEGIN {printf "%.2fx", a / b}')"
echo "  rounds (ms failed ports): ours ${ours[*]/%/;}  vif-bridge ${xen[*]/%/;}"
