#!/bin/busybox sh
# /init of the PV domU initramfs (busybox). Built into domu-initrd.gz by test/xen/prepare.sh.
#
# Instructions come from the kernel command line (xl cfg extra=), all optional:
#   xb.ip=ADDR/LEN[,ADDR/LEN...]      addresses on eth0 (eth0 is brought up in any case)
#   xb.vlan=VID[,VID...]              VLAN devices eth0.VID on eth0 (802.1Q tagged by the guest)
#   xb.vip=ADDR/LEN[,...]             address for each xb.vlan, by position
#   xb.ping=ADDR[,ADDR...]            ping each target
#   xb.tries=N                        ping attempts per target, 1 s each (default 10)
#   xb.mtu=N                          report the MTU netfront gave eth0, then set eth0's MTU to N
#   xb.bigping=ADDR[,ADDR...]         after the pings: ping each with a packet as large as eth0's MTU
#                                     (busybox ping cannot set DF: eth0's MTU is what keeps it whole)
#   xb.unreach=ADDR[,ADDR...]         then: each must NOT answer (xb.utries attempts, default 3)
#   xb.spoof=MAC                      then: eth0 takes MAC, each xb.ping target must NOT answer;
#                                     eth0 gets its own MAC back and each must answer again
#   xb.id=TEXT                        copied into every result line (default: the hostname)
#   xb.halt=1                         power off after the results (default: stay up so dom0 can ping)
#
# Results, one line each on hvc0 (xenconsoled logs them in dom0), all starting "XBRESULT ":
#   XBRESULT <id> boot
#   XBRESULT <id> link eth0 ok|FAIL mac=<mac>
#   XBRESULT <id> addr <dev> <addr> ok|FAIL
#   XBRESULT <id> vlan <dev> ok|FAIL
#   XBRESULT <id> ping <target> ok|FAIL tries=<n>
#   XBRESULT <id> mtu eth0 frontend=<n>                       (information, not a check)
#   XBRESULT <id> mtu eth0 <n> ok|FAIL
#   XBRESULT <id> bigping size=<n> <target> ok|FAIL tries=<n>
#   XBRESULT <id> unreach <target> ok|FAIL tries=<n>           ok: no answer
#   XBRESULT <id> spoof eth0 <mac> ok|FAIL
#   XBRESULT <id> spoofed <target> ok|FAIL tries=<n>           ok: no answer from the spoofed MAC
#   XBRESULT <id> restored <target> ok|FAIL tries=<n>          ok: answers again from its own MAC
#   XBRESULT <id> done pass=<n> fail=<n>
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/console 2>&1
echo 1 >/proc/sys/kernel/printk 2>/dev/null

for m in /lib/modules/*.ko; do insmod "$m"; done

ip='' vlan='' vip='' ping='' tries=10 id='' halt='' mtu='' bigping='' unreach='' utries=3 spoof=''
for a in $(cat /proc/cmdline); do
  case $a in
    xb.ip=*) ip=${a#*=} ;;
    xb.vlan=*) vlan=${a#*=} ;;
    xb.vip=*) vip=${a#*=} ;;
    xb.ping=*) ping=${a#*=} ;;
    xb.tries=*) tries=${a#*=} ;;
    xb.id=*) id=${a#*=} ;;
    xb.halt=*) halt=${a#*=} ;;
    xb.mtu=*) mtu=${a#*=} ;;
    xb.bigping=*) bigping=${a#*=} ;;
    xb.unreach=*) unreach=${a#*=} ;;
    xb.utries=*) utries=${a#*=} ;;
    xb.spoof=*) spoof=${a#*=} ;;
  esac
done
[ -n "$id" ] || id=$(hostname)
[ -n "$id" ] && [ "$id" != "(none)" ] || id=domU
pass=0 fail=0
res() { echo "XBRESULT $id $*"; }
check() { # check WHAT... -- CMD...: run CMD, report WHAT ok|FAIL
  local what=
  while [ "$1" != "--" ]; do what="$what $1"; shift; done
  shift
  if "$@" >/tmp/out 2>&1; then res "${what# } ok"; pass=$((pass + 1)); else
    res "${what# } FAIL $(head -c 200 /tmp/out | tr '\n' ' ')"; fail=$((fail + 1)); fi
}

res boot
ip link set lo up
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
mac=$(cat /sys/class/net/eth0/address 2>/dev/null)
check link eth0 mac=$mac -- ip link set eth0 up
if [ -n "$mtu" ]; then
  res "mtu eth0 frontend=$(cat /sys/class/net/eth0/mtu)"
  check mtu eth0 "$mtu" -- ip link set eth0 mtu "$mtu"
fi
for a in $(echo "$ip" | tr ',' ' '); do check addr eth0 "$a" -- ip addr add "$a" dev eth0; done
set -- $(echo "$vip" | tr ',' ' ')
for v in $(echo "$vlan" | tr ',' ' '); do
  check vlan eth0.$v -- ip link add link eth0 name eth0.$v type vlan id "$v"
  ip link set eth0.$v up
  if [ -n "$1" ]; then check addr eth0.$v "$1" -- ip addr add "$1" dev eth0.$v; shift; fi
done
# pings WORD WANT N ARGS -- TARGETS: WANT=1 each target must answer within N tries, WANT=0 none may.
pings() {
  local word=$1 want=$2 max=$3 args='' t n ok
  shift 3
  while [ "$1" != "--" ]; do args="$args $1"; shift; done
  shift
  for t in "$@"; do
    n=0 ok=
    while [ $n -lt "$max" ]; do
      n=$((n + 1))
      if ping -c 1 -W 1 $args "$t" >/dev/null 2>&1; then ok=1; break; fi
    done
    if [ "${ok:-0}" = "$want" ]; then res "$word $t ok tries=$n"; pass=$((pass + 1)); else
      res "$word $t FAIL tries=$n"; fail=$((fail + 1)); fi
  done
}
list() { echo "$1" | tr ',' ' '; }
pings ping 1 "$tries" -- $(list "$ping")
if [ -n "$bigping" ]; then
  size=$(($(cat /sys/class/net/eth0/mtu) - 28))
  pings "bigping size=$size" 1 "$tries" -s "$size" -- $(list "$bigping")
fi
pings unreach 0 "$utries" -- $(list "$unreach")
if [ -n "$spoof" ]; then
  setmac() { ip link set eth0 down && ip link set eth0 address "$1" && ip link set eth0 up; }
  check spoof eth0 "$spoof" -- setmac "$spoof"
  pings spoofed 0 "$utries" -- $(list "$ping")
  setmac "$mac"
  pings restored 1 "$tries" -- $(list "$ping")
fi
res "done pass=$pass fail=$fail"
[ -n "$halt" ] && poweroff -f
while :; do sleep 3600; done
