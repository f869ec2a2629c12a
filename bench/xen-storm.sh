#!/usr/bin/env bash
# Inside real Xen dom0 (test/xen/run.sh -- bench/xen-storm.sh [ROUNDS] [GUESTS]): a boot storm
# under Xen's own toolstack. GUESTS (default 8) PV guests are created at once with `xl create -p`:
# libxl runs the vif hotplug before a domain is first unpaused, so the storm is the hotplug work
# without booting kernels (the guests' kernel is a 4 KiB stub that never runs: see pv_stub).
# Timed until every `xl create -p` has returned; then every vif must be a port of xenbr0 with
# hotplug-status `connected`; then all are destroyed at once (timed too: the offlines). Two setups
# per round, their order alternating: Xen's vif-bridge, and hooks/vif-xenbridge handing its event to the resident
# service (`xenbridge hookd`, running for the whole bench as it would on a host); and
# in the first round, guests with no vif (what creating the domains costs anyway). Prints each
# storm, then the medians over ROUNDS (default 3) of the storms that attached every guest, the
# ratios, the load average, and the service's joint transactions (of two events or more) per
# storm. Not part of `npm run bench` (a Xen bed boot).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=xen-lib.sh
. "$root/bench/xen-lib.sh"
rounds=${1:-3} n=${2:-8} mem=32
dir=/run/xenbridge-storm
mkdir -p "$dir"
# A PV kernel that never runs: a 4 KiB ELF with Xen's notes (generic loader, xen-3.0, entry) and a
# pause loop. The storm's guests stay paused, so what matters is that libxl builds them fast: a
# real guest kernel is 65 MB that every `xl create` copies in, under emulation a minute per guest.
pv_stub() { # FILE
  local base=$((0x100000)) code=512 size=4096 out=''
  b() { local x h; for x in "$@"; do printf -v h '\\x%02x' "$x"; out+=$h; done; }
  u() { local v=$1 n=$2 i; for ((i = 0; i < n; i++)); do b $(((v >> (8 * i)) & 255)); done; } # VALUE BYTES, little-endian
  s() { local t=$1 i; for ((i = 0; i < ${#t}; i++)); do b "'${t:i:1}"; done; b 0; } # a string and its NUL
  note() { u 4 4; u "$2" 4; u "$1" 4; s Xen; } # TYPE DESCSZ: Xen's note header and name
  b 0x7f 0x45 0x4c 0x46 2 1 1 0 0 0 0 0 0 0 0 0
  u 2 2; u 0x3e 2; u 1 4; u $((base + code)) 8; u 64 8; u 0 8; u 0 4; u 64 2; u 56 2; u 2 2; u 64 2; u 0 2; u 0 2
  u 1 4; u 7 4; u 0 8; u "$base" 8; u "$base" 8; u "$size" 8; u "$size" 8; u 4096 8 # PT_LOAD: the whole file
  u 4 4; u 4 4; u 176 8; u $((base + 176)) 8; u $((base + 176)) 8; u 120 8; u 120 8; u 4 8 # PT_NOTE
  note 8 8; s generic; note 5 8; s xen-3.0 # LOADER, XEN_VERSION
  note 3 8; u 0 8; note 4 8; u 0 8; note 1 8; u $((base + code)) 8 # VIRT_BASE, PADDR_OFFSET, ENTRY
  u 0 $((code - 296)); b 0xf3 0x90 0xeb 0xfc; u 0 $((size - code - 4)) # pause; jmp back
  printf "$out" >"$1"
}
pv_stub "$dir/stub.elf"
# libxl gives xenconsoled 10 s to announce each new guest's console, or fails the create: with eight
# `xl create` at once on dom0's one emulated vCPU it missed that. It is no part of the hotplug.
renice -n -10 -p "$(cat /run/xen/xenconsoled.pid)" >/dev/null
# xl hands its environment to the hotplug scripts: this is how our hook finds the CLI and the file.
export XENBRIDGE_BIN=$root/bin/xenbridge
xb_bench_bridge || { echo "xenbridge apply failed" >&2; exit 1; }
echo "Xen free memory $(xl info | awk '$1 == "free_memory" {print $3}') MB for $n guests of $mem MB; load $(load)"
t=$(date +%s%N)
hookd_start || exit 1
echo "the hook service took $(ms "$t") ms to start"
trap hookd_stop EXIT

# storm SETUP ROUND: prints "create_ms destroy_ms bad forks"; bad: guests not created or not
# attached; forks: processes started in dom0 until every create returned (/proc/stat).
storm() {
  local setup=$1 r=$2 i name t pids=() bad=0 d vif script=vif-bridge k=1
  [[ $setup == svc ]] && script=$root/hooks/vif-xenbridge k=2
  for ((i = 0; i < n; i++)); do
    name=st$r$setup$i vif=''
    [[ $setup == none ]] || vif="'mac=00:16:3e:$(printf '%02x:%02x:%02x' "$r" "$k" "$i"),bridge=xenbr0,script=$script'"
    printf 'name = "%s"\ntype = "pv"\nkernel = "%s"\nmemory = %s\nvcpus = 1\nvif = [ %s ]\n' \
      "$name" "$dir/stub.elf" "$mem" "$vif" >"$dir/$name.cfg"
  done
  local forks; forks=$(awk '$1 == "processes" {print $2}' /proc/stat)
  t=$(date +%s%N)
  # Never pipe xl create: its monitor child keeps the pipe open for the domain's lifetime.
  for ((i = 0; i < n; i++)); do
    xl create -p "$dir/st$r$setup$i.cfg" >"$dir/st$r$setup$i.create.log" 2>&1 </dev/null &
    pids+=($!)
  done
  wait "${pids[@]}"
  local made; made=$(ms "$t")
  forks=$(($(awk '$1 == "processes" {print $2}' /proc/stat) - forks))
  for ((i = 0; i < n; i++)); do
    name=st$r$setup$i
    d=$(xl domid "$name" 2>/dev/null) || { echo "  $setup: $name was not created: $(grep -m 2 error "$dir/$name.create.log" | tr "\n" " ")" >&2; bad=$((bad + 1)); continue; }
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
  echo "$made $gone $bad $forks"
}

none=() xen=() svc=() bad=0
for ((r = 0; r < rounds; r++)); do
  order=(svc xen); ((r % 2)) && order=(xen svc)
  # What creating the domains costs anyway: once, the storms themselves are what is compared.
  ((r == 0)) && order=(none "${order[@]}")
  for s in "${order[@]}"; do
    before=$(grep -c 'onlines in one transaction' /run/xenbridge-bench-hookd.log)
    out=$(storm "$s" "$r")
    read -r c g b f <<<"$out"
    bad=$((bad + b))
    # A storm that lost guests is shown, not timed: its destroy has fewer vifs to take down.
    ((b == 0)) && eval "$s+=(\"\$c \$g\")"
    batches=''
    [[ $s == svc ]] && batches=", $(($(grep -c 'onlines in one transaction' /run/xenbridge-bench-hookd.log) - before)) joint transactions"
    echo "round $((r + 1)) $s: create $c ms ($f processes started in dom0 meanwhile), destroy $g ms, failed $b$batches; load $(load)"
    ((b > 0)) && [[ $s == svc ]] && sed 's/^/  hookd: /' /run/xenbridge-bench-hookd.log | tail -n 8 >&2
  done
done
col() { local c=$1; shift; printf '%s\n' "$@" | awk -v c="$c" '{print $c}' | median; }
if ((${#none[@]} == 0 || ${#xen[@]} == 0 || ${#svc[@]} == 0)); then
  echo "boot storm: no ratio: a setup attached every guest in no round (none ${#none[@]}, vif-bridge ${#xen[@]}, service ${#svc[@]} of $rounds)" >&2
  exit 1
fi
cn=$(col 1 "${none[@]}") cx=$(col 1 "${xen[@]}") cs=$(col 1 "${svc[@]}")
dn=$(col 2 "${none[@]}") dx=$(col 2 "${xen[@]}") ds=$(col 2 "${svc[@]}")
echo "boot storm in an emulated Xen dom0 (TCG): $n guests at once (xl create -p, $mem MB each); medians of the rounds that attached every guest (vif-bridge ${#xen[@]}, service ${#svc[@]} of $rounds); load $(load):"
echo "  xl create -p: service $cs ms  vif-bridge $cx ms  no vif $cn ms  -> service/vif-bridge $(ratio "$cs" "$cx"); the hotplug share (minus no vif): service $((cs - cn)) ms, vif-bridge $((cx - cn)) ms -> $(ratio "$((cs - cn))" "$((cx - cn))")"
echo "  xl destroy:   service $ds ms  vif-bridge $dx ms  no vif $dn ms  -> service/vif-bridge $(ratio "$ds" "$dx")"
((bad == 0)) || { echo "  $bad guests failed or were not attached (see above)" >&2; exit 1; }
