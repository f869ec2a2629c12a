#!/usr/bin/env bash
# npm test: every suite, each on the kernel it needs. All suites run even if one fails; the exit
# status says whether all passed.
#   host   unit + real-kernel namespace tests on this machine's kernel (vitest)
#   xen    xenbridge under Xen 4.17's own xl, PV dom0 + domUs in QEMU (test/xen)
#   xen420 the same scenarios on Debian 13's Xen 4.20 and kernel 6.12, in a Debian 13 dom0 that
#          installs our .deb (npm run package) with dpkg -i
#   vlan   802.1Q and vlan_filtering suites on Debian's stock kernel in QEMU (test/vm), last so that
#          vitest's summary closes the run
set -uo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "npm test: the suites create network namespaces and VMs: run as root" >&2; exit 2; }
declare -A status=()
t0=$SECONDS
log=$(mktemp)
prep=$(mktemp -d)
trap 'rm -rf "$log" "$prep"' EXIT
suite() { # NAME CMD...
  local name=$1 s=$SECONDS; shift
  echo "=== $name: $*"
  "$@" 2>&1 | tee -a "$log"
  status[$name]=${PIPESTATUS[0]}
  echo "=== $name: exit ${status[$name]} in $((SECONDS - s)) s"
}
# The beds' prepares download and unpack (apt, debootstrap, kernel packages): on a fresh machine
# mostly waiting on the network. They run one after another in the background from the start,
# beside the type check and the host suite; each one's output is shown where its suite comes.
PREPARES=(xen-prepare:test/xen/prepare.sh xen420-prepare:test/xen/prepare-4.20.sh vm-prepare:test/vm/prepare.sh)
prepare_all() {
  local p s
  for p in "${PREPARES[@]}"; do
    s=$SECONDS
    "${p#*:}" >"$prep/${p%%:*}.out" 2>&1
    echo "$? $((SECONDS - s))" >"$prep/${p%%:*}.rc"
  done
}
prepared() { # NAME: waits for that prepare, shows its output and keeps its status
  local s=$SECONDS rc secs
  echo "=== $1 (in the background since the start)"
  while [[ ! -f $prep/$1.rc ]]; do sleep 1; done
  read -r rc secs <"$prep/$1.rc"
  cat "$prep/$1.out"
  status[$1]=$rc
  echo "=== $1: exit $rc in $secs s, $((SECONDS - s)) s of it waited for here"
}
# Tests over all suites: vitest's summaries and the Xen suites' closing lines; R = the Xen steps
# run again after node died under emulation (printed, never hidden).
count() {
  sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
    /^ *Tests +/ { p = 0; f = 0
      if (match($0, /[0-9]+ failed/)) f = substr($0, RSTART, RLENGTH) + 0
      if (match($0, /[0-9]+ passed/)) p = substr($0, RSTART, RLENGTH) + 0
      P += p; F += f }
    /^xen: [0-9]+ passed, [0-9]+ failed$/ { P += $2; F += $4 }
    /^xen: node died under emulation [0-9]+ time/ { R += $6 }
    END { print P + 0, F + 0, R + 0 }'
}
npm run build || exit 1
prepare_all &
# Test files are type-checked too: a changed API shows up here, not as a failure at run time.
suite types npx tsc -p test
suite host vitest run
prepared xen-prepare
[[ ${status[xen-prepare]} == 0 ]] && suite xen test/xen/run.sh -- test/xen/scenarios.sh
prepared xen420-prepare
# The package of the build above (npm run package would build again).
suite package node dist/package/build-deb.js
deb=$PWD/build/xenbridge_$(node -p 'require("./package.json").version')_all.deb
[[ ${status[xen420-prepare]} == 0 && ${status[package]} == 0 ]] &&
  suite xen420 env XENBRIDGE_XEN_DEB="$deb" test/xen/run.sh --bed 4.20 -- test/xen/scenarios.sh
prepared vm-prepare
# All of test/vlan runs in one boot: about 11 minutes on a quiet 2-core machine, past the bed's default
# 15-minute limit for a hung guest when the machine is busy.
[[ ${status[vm-prepare]} == 0 ]] && suite vlan env XENBRIDGE_VM_TIMEOUT="${XENBRIDGE_VM_TIMEOUT:-1800}" test/vm/run.sh -- vitest run -c vitest.vm.config.ts
failed=0
for name in types host xen-prepare xen xen420-prepare package xen420 vm-prepare vlan; do
  rc=${status[$name]:-skipped}
  echo "suite $name: $([[ $rc == 0 ]] && echo ok || echo "FAILED ($rc)")"
  [[ $rc == 0 ]] || failed=1
done
read -r passed tfailed reruns < <(count)
# A suite that failed before reporting any test (a bed that would not boot) still counts as a failure.
((failed && tfailed == 0)) && tfailed=1
# CI keeps only the end of this output: name what failed here, after the suites' own long logs.
failures() {
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^ *(FAIL |× )|^xen: \[ *[0-9]+s\] FAIL ' | awk '!seen[$0]++' | head -n 40
}
if ((failed)); then
  echo "what failed:"
  failures | sed 's/^ */  /'
fi
echo "all suites: $((SECONDS - t0)) s"
echo "reruns after node died under emulation: $reruns"
echo "all: $passed passed, $tfailed failed"
exit $failed
