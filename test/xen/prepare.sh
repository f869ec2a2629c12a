#!/usr/bin/env bash
# test/xen/prepare.sh — prepare the Xen 4.17 test bed; idempotent, later runs are quick no-ops.
#
# Nothing Xen is installed on the host: the packages are downloaded and extracted into a private
# root. Cache: ${XENBRIDGE_XEN_CACHE:-~/.cache/xenbridge-xen}
#   debs/                 the Xen .debs
#   root/                 the Xen .debs dpkg -x'ed, merged-/usr (dom0 layers it over the host root)
#   kernel/<kver>/root/   Debian's kernel package dpkg -x'ed (test/vm/lib.sh vm_fetch_kernel)
#   boot/xen              uncompressed hypervisor (QEMU's multiboot loader cannot take the .gz)
#   boot/vmlinux          uncompressed kernel for dom0 and every domU (xz under TCG is slow)
#   boot/dom0-initrd.gz   busybox + modules + dom0-init.sh
#   boot/domu-initrd.gz   busybox + xen-netfront, 8021q + domu-init.sh
#   ready                 written last; test/xen/run.sh refuses to boot without it
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

XEN_PKGS=(xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils libxenmisc4.17
  libxencall1 libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenstore4 libxentoollog1
  libxenhypfs1 libxendevicemodel1 libxentoolcore1 libyajl2)
# Load order = dependency order: the VM bed's set (+ virtio_console for the command's output
# channel), then Xen's devices (xenfs after privcmd), then nf_tables for the vif guards
# (dom0 has no modprobe on demand).
DOM0_MODS=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_console
  netfs fscache 9pnet 9pnet_virtio 9p overlay llc stp garp mrp 8021q bridge veth
  xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc xen-netback
  crc32c_generic libcrc32c nfnetlink nf_tables nft_meta_bridge)
DOMU_MODS=(xen-netfront llc stp garp mrp 8021q)

t0=$(date +%s.%N)
cache=$(xb_cache_dir)
[[ $cache != *[,\ ]* ]] || xb_die "XENBRIDGE_XEN_CACHE must contain no comma and no space: $cache"
mkdir -p "$cache/boot"

vm_apt_install qemu-system-x86 busybox-static cpio xz-utils iproute2 iputils-ping

# 1. Xen: download, extract into root/ (rebuilt when the set of .debs changes).
xb_fetch_debs "$cache/debs" "${XEN_PKGS[@]}"
debs=()
for p in "${XEN_PKGS[@]}"; do debs+=("$(xb_newest_deb "$cache/debs" "$p")"); done
key=$(vm_hash "${debs[*]##*/}" "$here/lib.sh")
if [[ $(cat "$cache/root/.key" 2>/dev/null) != "$key" || ! -s $cache/boot/xen ]]; then
  xb_say "extracting Xen into $cache/root"
  rm -f "$cache/ready"
  rm -rf "$cache/root.new"
  xb_extract_debs "$cache/root.new" "${debs[@]}"
  # State dirs that the overlay should have; /var/run and /var/lock are the host's symlinks.
  mkdir -p "$cache/root.new"/var/{lib/xen,lib/xenstored,log/xen/console}
  printf '%s\n' "$key" >"$cache/root.new/.key"
  rm -rf "$cache/root"
  mv "$cache/root.new" "$cache/root"
  zcat "$cache/root/boot/xen-4.17-amd64.gz" >"$cache/boot/xen.tmp"
  mv "$cache/boot/xen.tmp" "$cache/boot/xen"
fi

# 2. Kernel: Debian's stock kernel, uncompressed.
kpkg=$(vm_kernel_pkg linux-image-amd64)
kver=${kpkg#linux-image-}
kdir=$cache/kernel/$kver
vm_fetch_kernel "$kpkg" "$kdir"
moddir=$kdir/root/lib/modules/$kver
[[ -d $moddir ]] || xb_die "$kpkg has no modules for $kver"
if [[ $(cat "$cache/boot/vmlinux.key" 2>/dev/null) != "$kver" || ! -s $cache/boot/vmlinux ]]; then
  xb_say "uncompressing vmlinux $kver"
  rm -f "$cache/ready"
  xb_vmlinux_from_bzimage "$kdir/root/boot/vmlinuz-$kver" "$cache/boot/vmlinux"
  printf '%s\n' "$kver" >"$cache/boot/vmlinux.key"
fi

# 3. initramfs images (rebuilt when their init, the module list or the kernel changes).
xb_build_initrd "$cache" dom0-initrd "$here/dom0-init.sh" "$moddir" "$kver" "${DOM0_MODS[@]}"
xb_build_initrd "$cache" domu-initrd "$here/domu-init.sh" "$moddir" "$kver" "${DOMU_MODS[@]}"

if [[ ! -f $cache/ready ]]; then
  printf 'kernel=%s\n' "$kver" >"$cache/ready"
  xb_say "ready in $cache ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
else
  xb_say "ready (cached in $cache)"
fi
