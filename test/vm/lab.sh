#!/bin/bash
# `npm run lab` from the source tree: the lab on this kernel, or, when it has no 802.1Q (VLAN)
# support, in the VM bed with Debian's stock kernel. The installed CLI never starts a VM itself.
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cli=("$(command -v node)" "$root/bin/xenbridge")
"${cli[@]}" lab "$@" --check-kernel 2>/dev/null
case $? in
  0) exec "${cli[@]}" lab "$@" ;;
  3) echo "this kernel has no 802.1Q (VLAN) support: running the lab in a VM with Debian's stock kernel (test/vm)"
     # Preparing is cached: the first run fetches QEMU and the kernel, later ones take a second.
     "$root/test/vm/prepare.sh" || { echo "could not prepare the VM bed (test/vm/prepare.sh failed)" >&2; exit 1; }
     exec "$root/test/vm/run.sh" -- "${cli[@]}" lab "$@" ;;
  *) exec "${cli[@]}" lab "$@" ;;  # not root, bad options: the lab says why
esac
