#!/usr/bin/env bash
# test/vm/prepare.sh — prepare the VM test bed once; later runs are quick no-ops.
#
# Installs qemu and the guest tools on the host, fetches Debian's stock kernel (the package
# linux-image-amd64 depends on; extracted, never installed) and builds the initramfs.
# Everything lives in ${XENBRIDGE_VM_CACHE:-~/.cache/xenbridge-vm}/<kernel version>; the file
# "current" there names the version test/vm/run.sh boots.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/vm/lib.sh
. "$here/lib.sh"

# Load order = dependency order (virtio → 9p → overlay → 802.1Q/bridge → veth).
MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
  netfs fscache 9pnet 9pnet_virtio 9p overlay llc stp garp mrp 8021q bridge veth)

vm_apt_install qemu-system-x86 busybox-static cpio tcpdump iputils-ping iputils-arping nftables python3

cache=$(vm_cache_dir)
mkdir -p "$cache"
# Two prepares at once (CI and a developer, two beds) would build into the same files.
exec 9>"$cache/.lock"
flock 9

# apt-cache costs ~0.6 s: ask it only when apt's lists changed since the last prepare.
kver=$(cat "$cache/current" 2>/dev/null) || kver=
if [[ -z $kver || ! -f $cache/$kver/root/.complete || /var/lib/apt/lists -nt $cache/current ]]; then
  pkg=$(vm_kernel_pkg linux-image-amd64)
  kver=${pkg#linux-image-}
fi
pkg=linux-image-$kver
kdir=$cache/$kver
vm_fetch_kernel "$pkg" "$kdir"
[[ $(vm_kernel_version "$kdir/root") == "$kver" ]] || vm_die "$pkg does not ship modules for $kver"
moddir=$kdir/root/lib/modules/$kver

# modules.dep/alias for on-demand loading in the guest (the .deb leaves these to depmod in its
# postinst, which we never run). busybox's depmod: the host may have no kmod.
if [[ ! -f $moddir/modules.dep ]]; then
  "$(vm_busybox)" depmod -b "$kdir/root" "$kver" || vm_die "depmod failed"
fi

# An uncompressed ELF kernel for qemu's PVH boot (≈3 s faster under TCG than the bzImage);
# run.sh boots the bzImage when this is absent.
if [[ ! -f $kdir/vmlinux ]] && grep -qx 'CONFIG_PVH=y' "$kdir/root/boot/config-$kver"; then
  vm_vmlinux "$kdir/root/boot/vmlinuz-$kver" "$kdir/vmlinux" ||
    vm_say "no ELF payload in vmlinuz-$kver: the VM will boot the (slower) bzImage"
fi

# Rebuild the initramfs only when what goes into it changed.
key=$(vm_hash "$here/guest-init.sh" "$here/lib.sh" "$(vm_busybox)" "${MODULES[*]}")
if [[ ! -f $kdir/initrd.gz || $(cat "$kdir/initrd.key" 2>/dev/null) != "$key" ]]; then
  vm_say "building initramfs for $kver"
  vm_build_initramfs "$kdir/initrd.gz" "$here/guest-init.sh" "$moddir" "${MODULES[@]}"
  printf '%s\n' "$key" >"$kdir/initrd.key"
fi

printf '%s\n' "$kver" >"$cache/current.tmp"
mv "$cache/current.tmp" "$cache/current"
# A kernel Debian has since replaced is ~0.5 GB of dead weight.
for old in "$cache"/*/root/.complete; do
  old=${old%/root/.complete}
  [[ -d $old && $old != "$kdir" ]] || continue
  vm_say "removing the previous kernel ${old##*/}"
  rm -rf "$old"
done
vm_say "ready: kernel $kver in $kdir"
