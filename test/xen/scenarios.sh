#!/usr/bin/env bash
# test/xen/scenarios.sh — xenbridge under Xen's own toolstack (either bed):
#   test/xen/run.sh [--bed 4.20] -- test/xen/scenarios.sh
# dom0's "NIC" eth0 is a veth to a switch namespace that answers untagged (192.0.2.1), on VLAN 10
# (10.10.0.1) and VLAN 20 (10.20.0.1). xenbridge apply configures dom0; xl creates PV domUs whose
# vifs are plugged by the vif-xenbridge hook; each guest pings its peer on the switch. The same
# guests carry the MTU 9000, xl vlan= and hostile-guest proofs (README.md, "What scenarios.sh proves").
# With XENBRIDGE_XEN_DEB=PATH (a xenbridge_*_all.deb), dom0 installs it with dpkg -i first and
# every step uses what it installed: /usr/bin/xenbridge, /etc/xen/scripts/vif-xenbridge (named by
# xl from its bare name) and /etc/xenbridge/topology.yaml. Without it, this checkout is used.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ -n ${XENBRIDGE_XEN_DOM0:-} ]] || { echo "scenarios.sh: run me inside dom0: test/xen/run.sh -- $0" >&2; exit 2; }
fails=0 passes=0 t0=$SECONDS
deb=${XENBRIDGE_XEN_DEB:-}
if [[ -n $deb ]]; then
  cli=(/usr/bin/xenbridge) hook=vif-xenbridge config=/etc/xenbridge/topology.yaml
  unset XENBRIDGE_BIN XENBRIDGE_CONFIG
  # dom0 runs no systemd: apply and stop are the unit's own ExecStart and ExecStop lines.
  unit=/lib/systemd/system/xenbridge.service via=' (xenbridge.service)'
else
  # xl runs hotplug scripts with its own environment: this is how the hook finds the CLI and the file.
  export XENBRIDGE_BIN="$root/bin/xenbridge" XENBRIDGE_CONFIG=/run/xenbridge-topology.yaml
  cli=(node "$root/bin/xenbridge") hook=$root/hooks/vif-xenbridge config=$XENBRIDGE_CONFIG
  unit='' via=''
fi
apply=(apply) stop=(stop)
step() { printf 'xen: [%3ss] %s\n' "$((SECONDS - t0))" "$*"; }
ok() { step "ok   $*"; passes=$((passes + 1)); }
bad() { step "FAIL $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# With Xen's lazy FPU switching under this TCG, processes in dom0 died by a signal or computed
# garbage whatever they ran; run.sh boots Xen with eager switching, which ended it (README.md,
# "Processes dying under emulation"). A rerun stays for the two signatures a plain `node -e` loop
# with no xenbridge showed (node-loop.sh): death by a signal, and a SyntaxError on a program that
# parses. The step is run again, at most three times; every rerun is counted in the closing lines,
# and any other error (ERR_BUFFER_TOO_LARGE, a garbage module format...) fails the step.
crashes=0
EXTERNAL='SyntaxError|Invalid or unexpected token'
emulator_crash() { # STATUS STDERR-FILE
  (($1 >= 128)) || grep -q -E "$EXTERNAL" "$2"
}
xb() {
  local try rc err=/run/xb-stderr.$$
  for try in 1 2 3 4; do
    "${cli[@]}" "$@" 2>"$err"; rc=$?
    cat "$err" >&2
    emulator_crash "$rc" "$err" && ((try < 4)) || return "$rc"
    crashes=$((crashes + 1)); step "note: node died under emulation (status $rc): running xenbridge $1 again"
  done
}
domid() { xl domid "$1" 2>/dev/null; }
master_of() { basename "$(readlink "/sys/class/net/$1/master" 2>/dev/null)" 2>/dev/null; }
vif_ports() { ls /sys/class/net/*/brif/ 2>/dev/null | grep '^vif' || true; }

topology() { # MODE [MTU]
  mkdir -p "${config%/*}"
  cat > "$config" <<YAML
version: 1
bridges:
  - name: xenbr0
    uplink: eth0
    mode: $1${2:+
    mtu: $2}
    vlans:
      - {id: 10, addresses: [10.10.0.2/24], probe: 10.10.0.1}
      - {id: 20, probe: 10.20.0.1}
YAML
}

switch_up() {
  ip netns add sw
  ip link add name eth0 type veth peer name sw0 netns sw
  ip -n sw -batch - <<'IP'
link set dev lo up
link set dev sw0 mtu 9000 up
addr add 192.0.2.1/24 dev sw0
link add link sw0 name sw0.10 type vlan id 10
addr add 10.10.0.1/24 dev sw0.10
link set dev sw0.10 up
link add link sw0 name sw0.20 type vlan id 20
addr add 10.20.0.1/24 dev sw0.20
link set dev sw0.20 up
IP
  ip addr add 192.0.2.10/24 dev eth0 && ip link set dev eth0 up && ip route add default via 192.0.2.1
}

# Start guests in parallel, then wait for each one's verdict (xl create takes ~10 s under TCG).
guests() { # NAME|VIF-BRIDGE|EXTRA ...
  local g name spec extra n=0
  local -A created=()
  for g in "$@"; do
    IFS='|' read -r name spec extra <<<"$g"
    n=$((n + 1))
    if create "$name" "mac=00:16:3e:00:0a:$(printf %02x "$n"),bridge=$spec" "$extra"; then
      created[$name]=1
    else
      bad "xl create $name (bridge=$spec)"
      hotplug_evidence "$name"
    fi
  done
  for g in "$@"; do
    IFS='|' read -r name spec extra <<<"$g"
    [[ -n ${created[$name]:-} ]] || continue
    if wait_done "$name"; then ok "guest $name (bridge=$spec): $extra"; else bad "guest $name (bridge=$spec): $extra"; evidence "$name"; fi
  done
}

# libxl kills a hotplug script after 40 s (LIBXL_HOTPLUG_TIMEOUT): the hook's own lines say whether
# it got that far (each is stamped; libxl also sends the scripts' output to that log).
hotplug_evidence() { # NAME: after a failed xl create
  local d
  d=$(grep -o -m 1 'Domain [0-9]*:' "/run/xenbridge-xen/domu/$1.create.log" 2>/dev/null | tr -dc 0-9)
  [[ -n $d ]] || return 0
  echo "xen-hotplug.log, domain $d (now $(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg)):"
  grep "domain $d: " /var/log/xen/xen-hotplug.log 2>/dev/null | grep '^\[' | sed 's/^/  /' || echo "  no line of the hook: it never finished"
}

evidence() { # NAME: what a failed guest saw, and the links and VLANs dom0 had then
  "$here/domu.sh" results "$1"
  echo "links:"; ip -br link | sed 's/^/  /'
  echo "bridge vlan show:"; bridge vlan show | sed 's/^/  /'
}

create() { # NAME VIF EXTRA: xl create, again if the hook died by a signal (see xb)
  local try log=/run/xenbridge-xen/domu/$1.create.log
  for try in 1 2 3 4; do
    "$here/domu.sh" start "$1" --script "$hook" --vif "$2" --extra "$3" --no-wait && return 0
    grep -q -E "died due to fatal signal|$EXTERNAL" "$log" 2>/dev/null && ((try < 4)) || return 1
    crashes=$((crashes + 1)); step "note: the hook died by a signal under emulation: xl create $1 again"
    "$here/domu.sh" stop "$1" >/dev/null 2>&1
  done
}

wait_done() { # NAME: 0 when the guest reported no failure
  local i line
  for ((i = 0; i < 90; i++)); do
    line=$(timeout 10 "$here/domu.sh" results "$1" 2>/dev/null | grep " done " || true)
    [[ -n $line ]] && { [[ $line == *" fail=0"* ]]; return; }
    sleep 1
  done
  return 1
}

destroy_all() {
  local d
  for d in "$@"; do "$here/domu.sh" stop "$d" >/dev/null 2>&1 || bad "xl destroy $d"; done
  check "xl destroy leaves no vif on any bridge" test -z "$(vif_ports)"
}

# The checks on what the guests did (drops, guards, VLAN entries, MTU, xenstore reads).
. "$here/checks.sh"

scenario_mode() { # MODE TRUNK-SPEC
  local mode=$1 trunk=$2 mtu='' acc=xenbr0.10 trk="xb.vlan=20 xb.vip=10.20.0.22/24 xb.ping=10.20.0.1" unt=''
  step "--- $mode mode"
  # Classic mode runs on a 9000-byte bridge; in filtering mode, xl's vlan= key where xl has it.
  if [[ $mode == classic ]]; then
    mtu=9000 unt=' xb.mtu=9000 xb.bigping=192.0.2.10'
  elif [[ -n $vlan_key ]]; then
    acc='xenbr0,vlan=10' trunk='xenbr0,vlan=10p/20' trk="xb.ip=10.10.0.22/24 xb.vlan=20 xb.vip=10.20.0.22/24 xb.ping=10.10.0.1,10.20.0.1"
  else
    step "not on Xen $xen_version: xl's vlan= key came with 4.19 (xl-network-configuration(5)); its guests (vlan=10, vlan=10p/20) run on the 4.20 bed"
  fi
  topology "$mode" $mtu
  ip -n sw neigh flush all
  check "xenbridge apply ($mode)$via" xb "${apply[@]}"
  guests "acc$mode|$acc|xb.ip=10.10.0.21/24 xb.ping=10.10.0.1 xb.vlan=20 xb.vip=10.20.0.21/24 xb.unreach=10.20.0.1 xb.spoof=$SPOOF" \
         "trk$mode|$trunk|$trk" \
         "unt$mode|xenbr0|xb.ip=192.0.2.23/24 xb.ping=192.0.2.1$unt"
  local want=xenbr0
  [[ $mode == classic ]] && want=xenbr0v10
  check "access vif is a port of $want" test "$(master_of "vif$(domid "acc$mode").0")" = "$want"
  if [[ $mode == filtering ]]; then
    check "access vif ($acc) carries exactly VLAN 10, untagged, as its PVID" vlans_are "vif$(domid "acc$mode").0" '{"vlan":10,"flags":["PVID","Egress Untagged"]}'
    [[ -n $vlan_key ]] && check "trunk vif ($trunk) carries exactly VLAN 10 untagged as its PVID and VLAN 20 tagged" \
      vlans_are "vif$(domid "trk$mode").0" '{"vlan":10,"flags":["PVID","Egress Untagged"]}' '{"vlan":20}'
  fi
  hostile_checks "acc$mode"
  [[ $mode == classic && -z $deb ]] && check "the vifs' keys through xenstore-list -p and one xenstore-read are those over the socket" \
    tools_read_same "$(domid "acc$mode")" "$(domid "trk$mode")" "$(domid "unt$mode")"
  [[ -n $mtu ]] && mtu_checks "unt$mode" 192.0.2.23
  check "dom0 reaches VLAN 10 and the switch" ping -c1 -W3 10.10.0.1
  check "xenbridge verify ($mode)" xb verify
  check "xenbridge verify --traffic ($mode): every path answers" xb verify --traffic
  [[ -n $deb ]] && guards_after_flush "$mode"
  if [[ $mode == classic ]]; then
    # The seed's mistake, made by hand: a VLAN device on the NIC, which is a port of xenbr0.
    ip link add link peth0 name peth0.10 type vlan id 10 && ip link set dev peth0.10 up
    local report rc
    report=$(xb verify --traffic --vlan 10 --json); rc=$?
    check "verify --traffic fails (exit 3) with peth0.10 on the bridge port (status $rc)" test "$rc" = 3
    check "it names the culprit: peth0.10 steals VLAN 10 from xenbr0" bash -c 'grep -q vlan-device-steals-vid <<<"$1" && grep -q peth0.10 <<<"$1"' _ "$report"
    ip link del dev peth0.10
  fi
  destroy_all "acc$mode" "trk$mode" "unt$mode"
  check "xenbridge stop$via" xb "${stop[@]}"
}

scenario_refused() {
  step "--- allow-list"
  topology classic
  xb "${apply[@]}" >/dev/null || bad "apply"
  local err
  err=$("$here/domu.sh" start bad30 --script "$hook" --vif 'mac=00:16:3e:00:0b:01,bridge=xenbr0.30' --extra 'xb.ip=10.30.0.5/24' 2>&1 >/dev/null)
  local rc=$?
  check "xl create of a guest asking for VLAN 30 fails (status $rc)" test "$rc" = 3
  check "xl prints our hotplug-error" grep -q 'VLAN 30 is not allowed on xenbr0' <<<"$err"
  check "nothing is left attached" test -z "$(vif_ports)"
  check "the refused domain is gone" bash -c '! xl domid bad30 >/dev/null 2>&1'
  xb "${stop[@]}" >/dev/null || bad "stop"
}

# xl reads the domU kernel and initramfs on every create: from RAM, not over 9p. node and our code
# are read once into the page cache, so the first hook does not wait on 9p either.
stage_files() {
  mkdir -p /run/xb-boot
  cp "$XENBRIDGE_XEN_KERNEL" /run/xb-boot/vmlinux && cp "$XENBRIDGE_XEN_DOMU_INITRD" /run/xb-boot/domu-initrd.gz
  export XENBRIDGE_XEN_KERNEL=/run/xb-boot/vmlinux XENBRIDGE_XEN_DOMU_INITRD=/run/xb-boot/domu-initrd.gz
  cat "$(command -v node)" >/dev/null
  if [[ -n $deb ]]; then
    find /usr/lib/xenbridge -type f -exec cat {} + >/dev/null
  else
    find "$root/dist" "$root/bin" "$root/hooks" "$root/node_modules/commander" "$root/node_modules/yaml" "$root/node_modules/netmask" -type f -exec cat {} + >/dev/null
  fi
}

install_deb() {
  step "--- package ${deb##*/}"
  check "dpkg -i ${deb##*/}" dpkg -i "$deb"
  check "it installed /usr/bin/xenbridge, the hook and the unit" test -x /usr/bin/xenbridge -a -x /etc/xen/scripts/vif-xenbridge -a -f /lib/systemd/system/xenbridge.service
  check "the hook names /usr/bin/xenbridge (xl gives hooks a minimal PATH)" grep -q /usr/bin/xenbridge /etc/xen/scripts/vif-xenbridge
  local start stop_line
  start=$(sed -n 's|^ExecStart=/usr/bin/xenbridge ||p' "$unit") stop_line=$(sed -n 's|^ExecStop=/usr/bin/xenbridge ||p' "$unit")
  check "xenbridge.service starts and stops /usr/bin/xenbridge" test -n "$start" -a -n "$stop_line"
  read -r -a apply <<<"$start"
  read -r -a stop <<<"$stop_line"
}

xen_version=$(xl info 2>/dev/null | awk '$1 == "xen_version" { print $3 }')
# xl's per-vif vlan= key is new in 4.19; libxl writes it to the backend as vlan.
vlan_key=
[[ $(printf '%s\n' 4.19 "$xen_version" | sort -V | head -n 1) == 4.19 ]] && vlan_key=1
fpu=lazy; xl dmesg | grep -q 'Support for PV VMs:.*EAGER_FPU' && fpu=eager
step "Xen $xen_version ($fpu FPU switching), dom0 kernel $(uname -r), node $(node --version)"
[[ -n $deb ]] && install_deb
stage_files
switch_up
scenario_mode classic 'xenbr0:10:20'
scenario_mode filtering 'xenbr0:10:20'
scenario_refused
step "done in $((SECONDS - t0)) s"
# Evidence for crashes the kernel saw (a process killed by a signal prints nothing else useful).
dmesg | grep -E 'segfault|general protection|invalid opcode|Out of memory|oom' | tail -5
free -m | sed 's/^/xen: /'
echo "xen: node died under emulation $crashes time(s) and was run again"
echo "xen: $passes passed, $fails failed"
((fails == 0))
