#!/usr/bin/env bash
# test/xen/node-loop.sh — does node die in this emulated dom0 without xenbridge? Run inside dom0:
#   test/xen/run.sh [--bed 4.20] -- test/xen/node-loop.sh [RUNS]
# Starts two idle PV domUs on a plain bridge plugged by Xen's own vif-bridge (the scenarios'
# crashes happened while guests ran), then starts `node -e` RUNS times (default 100). Each run
# loads node's ES module loader, JSON, RegExp and Buffer code and does some work, as a CLI start
# does; nothing of xenbridge is loaded. The program and its input never change and pass natively,
# so every run that fails counts as a crash: a signal, or node reporting nonsense about it.
# Env (XENBRIDGE_* pass through run.sh): XENBRIDGE_LOOP_NODE_FLAGS (e.g. --jitless),
# XENBRIDGE_LOOP_DOMUS (default 2; 0 = no guests), XENBRIDGE_LOOP_SECONDS (default 480: no new
# run starts after that, so a slow machine still gets its closing line).
# Prints one line per crash and closes with "node-loop: N runs, K crashed (...)".
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -n ${XENBRIDGE_XEN_DOM0:-} ]] || { echo "node-loop.sh: run me inside dom0: test/xen/run.sh -- $0" >&2; exit 2; }
runs=${1:-100} flags=${XENBRIDGE_LOOP_NODE_FLAGS:-} domus=${XENBRIDGE_LOOP_DOMUS:-2}
budget=${XENBRIDGE_LOOP_SECONDS:-480}

mkdir -p /run/xb-boot
cp "$XENBRIDGE_XEN_KERNEL" /run/xb-boot/vmlinux && cp "$XENBRIDGE_XEN_DOMU_INITRD" /run/xb-boot/domu-initrd.gz
export XENBRIDGE_XEN_KERNEL=/run/xb-boot/vmlinux XENBRIDGE_XEN_DOMU_INITRD=/run/xb-boot/domu-initrd.gz
ip link add name loopbr0 type bridge && ip addr add 192.0.2.1/24 dev loopbr0 && ip link set dev loopbr0 up
for ((i = 1; i <= domus; i++)); do
  "$here/domu.sh" start "idle$i" --script vif-bridge --vif "mac=00:16:3e:00:0c:0$i,bridge=loopbr0" \
    --extra "xb.ip=192.0.2.$((10 + i))/24 xb.ping=192.0.2.1" >/dev/null || echo "node-loop: guest idle$i failed"
done
echo "node-loop: $(xl list | tail -n +2 | wc -l) domains, node $(node --version) ${flags:+flags $flags}"
# How Xen switches FPU state between vCPUs ("EAGER_FPU" or lazily, through #NM): see README.md.
xl dmesg | grep -m1 -o 'Support for PV VMs:.*' | sed 's/^/node-loop: Xen: /'

# ESM loader + a few hundred kB of generated source, JSON round trips, regexps, Buffers.
prog='
const src = Array.from({ length: 3000 }, (_, i) => `export const f${i} = (x) => ({ i: ${i}, s: String(x).repeat(3) });`).join("\n");
import("data:text/javascript," + encodeURIComponent(src)).then((m) => {
  let acc = 0;
  for (let i = 0; i < 3000; i++) acc += JSON.stringify(m["f" + i](i)).length;
  const re = /^(\w+)@(\d+)\.(\d+)$/;
  for (let i = 0; i < 20000; i++) if (re.test(`vif${i}@${i % 7}.${i % 3}`)) acc++;
  const b = Buffer.alloc(1 << 20, 7);
  if (b.toString("base64").length < 1000 || acc < 3000) process.exit(9);
});'
crashes=0 t0=$SECONDS sigs=''
for ((i = 1; i <= runs; i++)); do
  ((SECONDS - t0 < budget)) || { i=$((i - 1)); break; }
  # shellcheck disable=SC2086 # flags are words
  node $flags -e "$prog" 2>/run/node-loop.err
  rc=$?
  if ((rc != 0)); then
    crashes=$((crashes + 1)) sigs+=" $rc"
    echo "node-loop: run $i: status $rc: $(grep -m1 -E "Error|error" /run/node-loop.err)"
  fi
done
dmesg | grep -E 'segfault|general protection|invalid opcode|traps:' | tail -5
((i > runs)) && i=$runs
echo "node-loop: $i runs, $crashes crashed (statuses:${sigs:- none}) in $((SECONDS - t0)) s"
