#!/usr/bin/env bash
# test/xen/prepare-4.20.sh — prepare the Debian 13 / Xen 4.20 test bed; idempotent, later runs
# are quick no-ops.
#
# Xen 4.20's userland needs Debian 13's libraries, so this bed does not layer over the host root:
# dom0's root is a Debian 13 system of its own, made here by debootstrap from the Debian archive
# that apt already uses on this machine. debootstrap rather than extracted packages: it runs the
# maintainer scripts and leaves a real dpkg database, so `dpkg -i` of our package in dom0 checks
# its Depends and runs its scripts as on a user's host. Suite "trixie" is read through a private
# apt configuration (apt/ below); the machine's own apt sources are never changed.
# Cache: ${XENBRIDGE_XEN420_CACHE:-~/.cache/xenbridge-xen420}
#   apt/                  private apt state for trixie (lists, downloaded .debs)
#   root/                 Debian 13 minbase + Xen 4.20 userland, nodejs, iproute2, tcpdump, busybox;
#                         root/.key = the versions of those packages (rebuilt when one changes)
#   kernel/<kver>/root/   Debian 13's kernel package dpkg -x'ed (modules for the initramfs images)
#   boot/xen              uncompressed Xen 4.20 hypervisor
#   boot/vmlinux          uncompressed Debian 13 kernel for dom0 and every domU
#   boot/dom0-initrd.gz   busybox + modules + dom0-init.sh
#   boot/domu-initrd.gz   busybox + xen-netfront, 8021q + domu-init.sh
#   ready                 written last; test/xen/run.sh --bed 4.20 refuses to boot without it
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

SUITE=trixie
ROOT_PKGS=(xen-utils-4.20 nodejs iproute2 nftables tcpdump busybox-static iputils-ping iputils-arping procps)
# 6.12 builds virtio in and has fscache inside netfs.
DOM0_MODS=(netfs 9pnet 9pnet_virtio 9p overlay llc stp garp mrp 8021q bridge veth
  xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc xen-netback
  crc32c_generic libcrc32c nfnetlink nf_tables nft_meta_bridge)
DOMU_MODS=(xen-netfront llc stp garp mrp 8021q)

t0=$(date +%s.%N)
cache=${XENBRIDGE_XEN420_CACHE:-$HOME/.cache/xenbridge-xen420}
[[ $cache != *[,\ ]* ]] || xb_die "XENBRIDGE_XEN420_CACHE must contain no comma and no space: $cache"
mkdir -p "$cache/boot"

vm_apt_install qemu-system-x86 debootstrap cpio xz-utils debian-archive-keyring
mirror=${XENBRIDGE_XEN420_MIRROR:-$(xb_debian_mirror)}
xb_apt_private "$cache/apt" "$mirror" "$SUITE"

# One apt-cache run for every version this script needs (each run parses all of trixie's lists).
kpkg=$(apt-cache "${XB_APT[@]}" depends linux-image-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
[[ -n $kpkg ]] || xb_die "cannot resolve the kernel package behind $SUITE's linux-image-amd64"
declare -A ver=()
while IFS== read -r p v; do ver[$p]=$v; done < <(xb_apt_candidates "${ROOT_PKGS[@]}" xen-hypervisor-4.20-amd64 "$kpkg")

fetch() { # DIR PKG: the .deb of PKG's candidate version in DIR (downloaded once)
  local dir=$1 pkg=$2 v=${ver[$2]}
  mkdir -p "$dir"
  compgen -G "$dir/${pkg}_${v//:/%3a}_*.deb" >/dev/null ||
    (cd "$dir" && apt-get -q=2 "${XB_APT[@]}" download "$pkg=$v" >&2) || xb_die "apt-get download $pkg failed"
  compgen -G "$dir/${pkg}_${v//:/%3a}_*.deb" | head -n 1
}

# 1. dom0's root, rebuilt when the version of one of its packages changes.
versions=$(for p in "${ROOT_PKGS[@]}"; do printf '%s=%s ' "$p" "${ver[$p]}"; done)
key=$(vm_hash "$SUITE" "$versions")
if [[ $(cat "$cache/root/.key" 2>/dev/null) != "$key" ]]; then
  xb_say "debootstrap $SUITE (minbase + ${ROOT_PKGS[*]}) from $mirror"
  rm -f "$cache/ready"
  rm -rf "$cache/root.new"
  inc=$(IFS=,; echo "${ROOT_PKGS[*]}")
  debootstrap --variant=minbase --include="$inc" --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    --cache-dir="$cache/apt/archives" "$SUITE" "$cache/root.new" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -n 20 "$cache/debootstrap.log" >&2; xb_die "debootstrap failed (log: $cache/debootstrap.log)"; }
  rm -f "$cache/root.new"/var/cache/apt/archives/*.deb
  # State dirs dom0-start.sh expects; the guest consoles are logged under /var/log/xen/console.
  mkdir -p "$cache/root.new"/var/{lib/xen,lib/xenstored,log/xen/console}
  printf '%s\n' "$key" >"$cache/root.new/.key"
  rm -rf "$cache/root"
  mv "$cache/root.new" "$cache/root"
fi
[[ -x $cache/root/usr/lib/xen-4.20/bin/xl ]] || xb_die "$cache/root has no Xen 4.20 xl"

# 2. The hypervisor, uncompressed (QEMU's multiboot loader cannot take the .gz).
hdeb=$(fetch "$cache/apt/archives" xen-hypervisor-4.20-amd64)
if [[ $(cat "$cache/boot/xen.key" 2>/dev/null) != "${hdeb##*/}" || ! -s $cache/boot/xen ]]; then
  xb_say "extracting ${hdeb##*/}"
  rm -f "$cache/ready"
  rm -rf "$cache/hv.tmp"
  dpkg -x "$hdeb" "$cache/hv.tmp"
  zcat "$cache/hv.tmp"/boot/xen-4.20-amd64.gz >"$cache/boot/xen.tmp"
  rm -rf "$cache/hv.tmp"
  mv "$cache/boot/xen.tmp" "$cache/boot/xen"
  printf '%s\n' "${hdeb##*/}" >"$cache/boot/xen.key"
fi

# 3. Debian 13's kernel, uncompressed; its modules go into the initramfs images.
kver=${kpkg#linux-image-}
kdir=$cache/kernel/$kver
if [[ ! -f $kdir/root/.complete ]]; then
  kdeb=$(fetch "$cache/apt/archives" "$kpkg")
  rm -rf "$kdir"
  mkdir -p "$kdir"
  dpkg -x "$kdeb" "$kdir/root"
  rm -f "$kdeb"
  touch "$kdir/root/.complete"
fi
moddir=$kdir/root/usr/lib/modules/$kver
[[ -d $moddir ]] || moddir=$kdir/root/lib/modules/$kver
[[ -d $moddir ]] || xb_die "$kpkg has no modules for $kver"
if [[ $(cat "$cache/boot/vmlinux.key" 2>/dev/null) != "$kver" || ! -s $cache/boot/vmlinux ]]; then
  xb_say "uncompressing vmlinux $kver"
  rm -f "$cache/ready"
  vm_vmlinux "$kdir/root/boot/vmlinuz-$kver" "$cache/boot/vmlinux" || xb_die "no ELF kernel inside vmlinuz-$kver"
  printf '%s\n' "$kver" >"$cache/boot/vmlinux.key"
fi

# 4. initramfs images, with Debian 13's static busybox (rebuilt when their inputs change).
export XENBRIDGE_VM_BUSYBOX=$cache/root/usr/bin/busybox
ikey="$kver $(vm_hash "$XENBRIDGE_VM_BUSYBOX")"
xb_build_initrd "$cache" dom0-initrd "$here/dom0-init.sh" "$moddir" "$ikey" "${DOM0_MODS[@]}"
xb_build_initrd "$cache" domu-initrd "$here/domu-init.sh" "$moddir" "$ikey" "${DOMU_MODS[@]}"

if [[ ! -f $cache/ready ]]; then
  printf 'kernel=%s\nxen=%s\n' "$kver" "$(cat "$cache/boot/xen.key")" >"$cache/ready"
  xb_say "ready in $cache ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
else
  xb_say "ready (cached in $cache)"
fi
