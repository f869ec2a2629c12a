#!/usr/bin/env bash
# test/vm/selftest.sh — proves the VM test bed works (after test/vm/prepare.sh).
#
# On the host: run.sh propagates statuses and output exactly, kills a hung guest, and inside
# the VM the kernel does what the host's cannot (netns, veth, 802.1Q VLAN devices, bridge
# vlan_filtering), tcpdump and node run, and vitest reports normally. Exits non-zero if any
# check fails; ends with "N passed, N failed".
# (With --inside it is the part that runs in the VM.)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

if [[ ${1:-} == --inside ]]; then
  # In the VM. Each command is a costly fork+exec under emulation, so only what proves the point.
  [[ ${XENBRIDGE_IN_VM:-} == 1 ]] || { echo "--inside: not in the VM"; exit 2; }
  fails=0
  step() {
    local what=$1 out
    shift
    if out=$("$@" 2>&1); then
      printf '  ok    %s\n' "$what"
    else
      printf '  FAIL  %s\n%s\n' "$what" "$out"
      fails=$((fails + 1))
    fi
  }
  ns=xbvm-selftest
  step "kernel $(uname -r)" test -d /proc/net/vlan
  step "netns add" ip netns add "$ns"
  step "veth pair into the netns" ip link add name xbst-a type veth peer name xbst-b netns "$ns"
  step "VLAN device (802.1Q) id 10" ip link add link xbst-a name xbst-a.10 type vlan id 10
  # Tagged traffic across the veth proves 802.1Q end to end (addresses: TEST-NET-1, all inside
  # this VM's namespaces).
  step "VLAN 10 addresses, up" ip -batch - <<IPB
address add 192.0.2.1/24 dev xbst-a.10
link set xbst-a up
link set xbst-a.10 up
IPB
  step "VLAN 10 in the netns" ip -n "$ns" -batch - <<IPB
link add link xbst-b name xbst-b.10 type vlan id 10
address add 192.0.2.2/24 dev xbst-b.10
link set xbst-b up
link set xbst-b.10 up
IPB
  step "ping over VLAN 10" ping -c 1 -W 5 192.0.2.2
  step "bridge with vlan_filtering 1" ip link add name xbst-br type bridge vlan_filtering 1
  step "vlan_filtering reads 1" grep -qx 1 /sys/class/net/xbst-br/bridge/vlan_filtering
  step "bridge port with VLAN 20" ip -batch - <<IPB
link add name xbst-c type veth peer name xbst-d
link set xbst-c master xbst-br
IPB
  step "bridge vlan add vid 20" bridge vlan add dev xbst-c vid 20
  step "bridge vlan show lists vid 20" sh -c 'bridge vlan show dev xbst-c | grep -qw 20'
  step "tcpdump --version" tcpdump --version
  step "node -e process.version" node -e 'console.log(process.version)'
  step "netns del" ip netns del "$ns"
  exit $((fails > 0))
fi

run=$here/run.sh
passed=0 failed=0
check() { # check NAME EXPECTED_STATUS EXPECTED_STDOUT|- -- run.sh ARGS...
  local name=$1 want=$2 wantout=$3 rc t0 out
  shift 4
  t0=${EPOCHREALTIME/./}
  set +e
  if [[ $wantout == - ]]; then
    "$run" -- "$@"
    rc=$?
  else
    out=$("$run" -- "$@")
    rc=$?
  fi
  set -e
  local dt=$(((${EPOCHREALTIME/./} - t0) / 100000))
  dt=$((dt / 10)).$((dt % 10))
  if [[ $rc == "$want" && ($wantout == - || $out == "$wantout") ]]; then
    printf 'ok    %s (status %s, %ss)\n' "$name" "$rc" "$dt"
    passed=$((passed + 1))
  else
    printf 'FAIL  %s: status %s (want %s)%s\n' "$name" "$rc" "$want" \
      "$([[ $wantout == - || $out == "$wantout" ]] || printf '; stdout %q (want %q)' "$out" "$wantout")"
    failed=$((failed + 1))
  fi
}

cd "$repo"
check "run.sh -- true" 0 "" -- true
check "run.sh -- false" 1 "" -- false
check "status 7, stdout+stderr in order, no marker" 7 $'out\nerr' -- sh -c 'echo out; echo err >&2; exit 7'
# shellcheck disable=SC2016 # expanded in the guest
XENBRIDGE_SELFTEST_VAR=xb-env-ok check "cwd and environment carried over" 0 "$repo:xb-env-ok:1" -- \
  sh -c 'echo "$PWD:$XENBRIDGE_SELFTEST_VAR:$XENBRIDGE_IN_VM"'
check "in the VM: netns, veth, VLAN, vlan_filtering, tcpdump, node" 0 - -- bash "$here/selftest.sh" --inside
XENBRIDGE_VM_TIMEOUT=8 check "a hung guest is killed after XENBRIDGE_VM_TIMEOUT" 124 "" -- sleep 600
if [[ -x $repo/node_modules/.bin/vitest ]]; then
  check "vitest run inside the VM" 0 - -- npx vitest run -c test/vm/smoke/vitest.config.ts
else
  printf 'FAIL  vitest run inside the VM: %s/node_modules is missing (npm ci)\n' "$repo"
  failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
((failed == 0))
