#!/usr/bin/env bash
# test/xen/prepare-qemu.sh — Debian 13's QEMU (qemu-system-x86 10.0) for the Xen beds, without
# installing it: its packages and their libraries are `dpkg -x`'ed into a cache and run with their
# own dynamic loader, so the host's QEMU (Debian 12: 7.2) and apt sources stay as they are.
# Idempotent; later runs are quick no-ops. Prints nothing on stdout but the wrapper's path.
# Why another QEMU: see README.md, "Processes dying under emulation".
# Cache: ${XENBRIDGE_XEN_QEMU_CACHE:-~/.cache/xenbridge-qemu}
#   apt/                 private apt state for trixie (lists, downloaded .debs)
#   root/                the packages of qemu-system-x86 and its dependencies, extracted
#   qemu-system-x86_64   wrapper: root's ld.so + library path + module and firmware dirs
#   ready                the qemu-system-x86 version, written last
# Use it: XENBRIDGE_XEN_QEMU=<cache>/qemu-system-x86_64 test/xen/run.sh …
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

SUITE=trixie
cache=${XENBRIDGE_XEN_QEMU_CACHE:-$HOME/.cache/xenbridge-qemu}
mkdir -p "$cache"

vm_apt_install debian-archive-keyring
mirror=${XENBRIDGE_XEN420_MIRROR:-$(xb_debian_mirror)}
xb_apt_private "$cache/apt" "$mirror" "$SUITE"
ver=$(xb_apt_candidates qemu-system-x86)
ver=${ver#*=}

if [[ $(cat "$cache/ready" 2>/dev/null) != "$ver" ]]; then
  xb_say "qemu-system-x86 $ver from $SUITE: downloading it and its dependencies"
  rm -f "$cache/ready"
  # The private status file is empty, so apt resolves the whole dependency closure (libc
  # included): the extracted tree needs nothing of the host's libraries.
  apt-get -q=2 "${XB_APT[@]}" install -y --download-only --no-install-recommends "qemu-system-x86=$ver" >&2 ||
    xb_die "apt-get --download-only qemu-system-x86=$ver failed"
  rm -rf "$cache/root.new"
  for deb in "$cache/apt/archives"/*.deb; do dpkg -x "$deb" "$cache/root.new" || xb_die "dpkg -x $deb failed"; done
  rm -rf "$cache/root"
  mv "$cache/root.new" "$cache/root"
  rm -f "$cache/apt/archives"/*.deb
fi

root=$cache/root
ld=$(compgen -G "$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" || compgen -G "$root/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2") ||
  xb_die "no ld-linux-x86-64.so.2 in $root"
libs=$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu
# The firmware links in usr/share/qemu are absolute (/usr/share/seabios/…): resolve them into root.
fw=$root/usr/share/qemu
while IFS= read -r l; do
  t=$(readlink "$l")
  [[ $t == /* && -e $root$t ]] && ln -sfn "$root$t" "$l"
done < <(find "$fw" -type l)
cat >"$cache/qemu-system-x86_64.tmp" <<EOF
#!/bin/sh
# Debian 13's qemu-system-x86 $ver, run from $root (test/xen/prepare-qemu.sh).
QEMU_MODULE_DIR=$root/usr/lib/x86_64-linux-gnu/qemu exec $ld --library-path $libs $root/usr/bin/qemu-system-x86_64 -L $fw "\$@"
EOF
chmod 0755 "$cache/qemu-system-x86_64.tmp"
mv "$cache/qemu-system-x86_64.tmp" "$cache/qemu-system-x86_64"
"$cache/qemu-system-x86_64" --version | head -n 1 >&2 || xb_die "the extracted QEMU does not start"
printf '%s\n' "$ver" >"$cache/ready"
printf '%s\n' "$cache/qemu-system-x86_64"
