#!/usr/bin/env bash
# test/xen/smoke.sh — proof that the Xen bed works; run as: test/xen/run.sh -- test/xen/smoke.sh
# In dom0: bridge xenbr0 192.0.2.1/24; a PV domU on it through Xen's own vif-bridge sets
# 192.0.2.50/24 and pings 192.0.2.1; dom0 pings the domU; xl destroy; the vif port is gone.
# Exits 0 only if all of that worked.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -n ${XENBRIDGE_XEN_DOM0:-} ]] || { echo "smoke.sh: run me inside dom0: test/xen/run.sh -- $0" >&2; exit 2; }
script=${XENBRIDGE_XEN_VIF_SCRIPT:-vif-bridge}
fails=0 passes=0 t0=$SECONDS
step() { printf 'smoke: [%3ss] %s\n' "$((SECONDS - t0))" "$*"; }
ok() { step "ok   $*"; passes=$((passes + 1)); }
bad() { step "FAIL $*"; fails=$((fails + 1)); }

ip link add name xenbr0 type bridge || { bad "create xenbr0"; exit 1; }
ip link set xenbr0 address 02:00:00:00:0b:01
ip addr add 192.0.2.1/24 dev xenbr0
ip link set xenbr0 up
ok "xenbr0 192.0.2.1/24"

"$here/domu.sh" start smoke1 --script "$script" \
  --vif 'mac=00:16:3e:00:00:11,bridge=xenbr0' \
  --extra 'xb.ip=192.0.2.50/24 xb.ping=192.0.2.1'
rc=$?
case $rc in
  0) ok "domU smoke1 up, pinged 192.0.2.1 ($script)" ;;
  3) bad "xl create smoke1"; exit 1 ;;
  *) bad "domU smoke1 results (status $rc)" ;;
esac

domid=$(xl domid smoke1 2>/dev/null)
vif=vif$domid.0
if [[ -e /sys/class/net/xenbr0/brif/$vif ]]; then ok "$vif is a port of xenbr0"; else
  bad "$vif is not a port of xenbr0 ($(ls /sys/class/net/xenbr0/brif | tr '\n' ' '))"; fi

if ping -c 3 -i 0.3 -W 2 192.0.2.50 >/tmp/smoke-ping.log 2>&1; then ok "dom0 pings domU 192.0.2.50"; else
  cat /tmp/smoke-ping.log; bad "dom0 pings domU 192.0.2.50"; fi

if "$here/domu.sh" stop smoke1; then ok "xl destroy smoke1"; else bad "xl destroy smoke1"; fi
ports=$(ls /sys/class/net/xenbr0/brif)
if [[ -z $ports && ! -e /sys/class/net/$vif ]]; then ok "$vif gone, xenbr0 has no ports"; else
  bad "after destroy: xenbr0 ports: ${ports:-none}; $vif exists: $([[ -e /sys/class/net/$vif ]] && echo yes || echo no)"; fi

step "done in $((SECONDS - t0)) s"
echo "smoke: $passes passed, $fails failed"
((fails == 0))
