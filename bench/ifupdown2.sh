#!/usr/bin/env bash
# xenbridge vs ifupdown2 3.0 (Debian's package, Proxmox's engine), same layouts, same kernel state
# checked first (bench/ifupdown2.mjs): plain bridges on this machine's kernel, then a VLAN-aware
# bridge with 1000 VIDs and 200 classic VLANs in the VM bed (802.1Q). The package is downloaded
# once and extracted into a private cache; nothing is installed.
#   bench/ifupdown2.sh [--native-only|--vm-only]
#   XENBRIDGE_IFUPDOWN2_CACHE  where the package is extracted (default ~/.cache/xenbridge-ifupdown2)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${XENBRIDGE_IFUPDOWN2_CACHE:-$HOME/.cache/xenbridge-ifupdown2}
[[ $(id -u) == 0 ]] || { echo "bench/ifupdown2.sh: needs root (network namespaces)" >&2; exit 2; }
if [[ ! -x $cache/root/usr/share/ifupdown2/ifupdown2 ]]; then
  rm -rf "$cache" && mkdir -p "$cache/dl"
  (cd "$cache/dl" && apt-get -o APT::Sandbox::User=root download ifupdown2 >/dev/null)
  dpkg-deb -x "$cache"/dl/ifupdown2_*.deb "$cache/root"
fi
echo "ifupdown2 $(dpkg-deb -f "$cache"/dl/ifupdown2_*.deb Version), python $(/usr/bin/python3 -c 'import platform; print(platform.python_version())')"
[[ -f $root/dist/index.js ]] || (cd "$root" && npm run build >/dev/null)
# ifupdown2 runs with a scratch directory bound over /etc/network, which must exist: Debian's
# ifupdown makes it; in the VM, /etc is an overlay in guest RAM, so it is made there.
if [[ ${1:-} != --vm-only ]]; then
  [[ -d /etc/network ]] || { echo "bench/ifupdown2.sh: /etc/network does not exist here (ifupdown2 reads it): run with --vm-only" >&2; exit 2; }
  node "$root/bench/ifupdown2.mjs" "$cache/root" plain-500
fi
[[ ${1:-} == --native-only ]] || "$root/test/vm/run.sh" -- sh -c 'mkdir -p /etc/network && exec node "$1/bench/ifupdown2.mjs" "$2/root" filtering-1000 classic-200' sh "$root" "$cache"
