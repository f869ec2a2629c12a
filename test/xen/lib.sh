# shellcheck shell=bash
# test/xen/lib.sh — helpers of the Xen test bed (sourced by bash scripts) beyond test/vm/lib.sh,
# which it sources: vm_apt_install, vm_kernel_pkg, vm_fetch_kernel, vm_build_initramfs, vm_hash,
# vm_write_cmd_script come from there.
#
#   xb_say / xb_die MSG             one line on stderr, prefixed "xenbridge-xen:"; xb_die exits
#                                   with $XB_DIE_STATUS (default 1)
#   xb_cache_dir                    ${XENBRIDGE_XEN_CACHE:-$HOME/.cache/xenbridge-xen}
#   xb_fetch_debs DIR PKG...        apt-get download each package into DIR, unless a .deb of it is there
#   xb_newest_deb DIR PKG           path of the newest DIR/PKG_*.deb
#   xb_extract_debs ROOT DEB...     dpkg -x each .deb into ROOT, then xb_merge_usr ROOT
#   xb_merge_usr ROOT               move ROOT/{bin,sbin,lib,lib64} under ROOT/usr (the host is
#                                   merged-/usr: the overlay must not shadow its /lib symlink)
#   xb_vmlinux_from_bzimage IN OUT  the uncompressed ELF vmlinux inside an xz-compressed bzImage
#   xb_build_initrd CACHE NAME INIT MODDIR KEY MODULE...
#                                   CACHE/boot/NAME.gz (vm_build_initramfs), rebuilt (and CACHE/ready
#                                   removed) when KEY, INIT, test/vm/lib.sh or the modules change
#   xb_debian_mirror                the Debian archive URL this machine's apt uses (for bookworm/main)
#   xb_apt_private DIR MIRROR SUITE sets XB_APT (apt-get/apt-cache options) to a private apt
#                                   configuration in DIR for SUITE; updates its lists when they are
#                                   missing or a week old. The machine's own sources are not touched.
#   xb_apt_candidates PKG...        "PKG=VERSION" lines: what XB_APT would install (one apt-cache run)

_xb_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -f $_xb_here/../vm/lib.sh ]] || { echo "xenbridge-xen: test/vm/lib.sh is missing" >&2; exit 125; }
# shellcheck source=../vm/lib.sh
. "$_xb_here/../vm/lib.sh"

xb_say() { printf 'xenbridge-xen: %s\n' "$*" >&2; }
xb_die() { xb_say "$*"; exit "${XB_DIE_STATUS:-1}"; }
xb_cache_dir() { printf '%s\n' "${XENBRIDGE_XEN_CACHE:-$HOME/.cache/xenbridge-xen}"; }

xb_fetch_debs() {
  local dir=$1 pkg missing=()
  shift
  mkdir -p "$dir"
  for pkg in "$@"; do
    compgen -G "$dir/${pkg}_*.deb" >/dev/null || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  xb_say "apt-get download ${missing[*]}"
  # APT::Sandbox::User=root: _apt cannot write into a root-owned private dir.
  local get=(apt-get -q=2 -o APT::Sandbox::User=root download "${missing[@]}")
  if ! (cd "$dir" && "${get[@]}" >&2); then
    xb_say "apt-get update"
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || xb_die "apt-get update failed"
    (cd "$dir" && "${get[@]}" >&2) || xb_die "apt-get download ${missing[*]} failed"
  fi
}

xb_newest_deb() {
  local f
  f=$(compgen -G "$1/${2}_*.deb" | sort -V | tail -n 1)
  [[ -n $f ]] || xb_die "no .deb of $2 in $1"
  printf '%s\n' "$f"
}

xb_merge_usr() {
  local root=$1 d
  for d in bin sbin lib lib64; do
    [[ -d $root/$d && ! -L $root/$d ]] || continue
    mkdir -p "$root/usr/$d"
    cp -a "$root/$d/." "$root/usr/$d/"
    rm -rf "${root:?}/$d"
  done
}

xb_extract_debs() {
  local root=$1 deb
  shift
  mkdir -p "$root"
  for deb in "$@"; do dpkg -x "$deb" "$root" || xb_die "dpkg -x $deb failed"; done
  xb_merge_usr "$root"
}

# Debian's vmlinuz is a bzImage whose payload is xz (magic FD 37 7A 58 5A 00): take the first
# stream that decompresses to an ELF image.
xb_vmlinux_from_bzimage() {
  local in=$1 out=$2 off
  for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$in" | cut -d: -f1); do
    # xz stops after the stream, so tail may die of SIGPIPE: the ELF check below decides.
    tail -c +"$((off + 1))" "$in" | xz -dc --single-stream >"$out.tmp" 2>/dev/null || true
    if [[ $(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]]; then
      mv "$out.tmp" "$out"
      return 0
    fi
  done
  rm -f "$out.tmp"
  xb_die "no xz-compressed ELF payload found in $in"
}

xb_debian_mirror() {
  local m
  m=$(apt-cache policy 2>/dev/null | awk '$2 ~ /^https?:/ && $3 ~ /^[a-z]+\/main$/ && $3 !~ /-(updates|security|backports)/ { print $2; exit }')
  [[ -n $m ]] || xb_die "cannot find the Debian archive in apt's sources (apt-cache policy)"
  printf '%s\n' "$m"
}

XB_APT=()
xb_apt_private() {
  local dir=$1 mirror=$2 suite=$3
  mkdir -p "$dir/lists/partial" "$dir/archives/partial"
  : >>"$dir/status"
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$mirror" "$suite" >"$dir/sources.list"
  # No lock: the directory is ours alone. APT::Sandbox::User=root: _apt cannot write into it.
  XB_APT=(-o Dir::Etc::sourcelist="$dir/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State="$dir"
    -o Dir::State::lists="$dir/lists" -o Dir::State::status="$dir/status" -o Dir::Cache="$dir"
    -o Dir::Cache::archives="$dir/archives" -o APT::Sandbox::User=root -o Debug::NoLocking=1)
  if [[ -z $(find "$dir/lists" -maxdepth 1 -name '*_Packages*' -mtime -7 2>/dev/null) ]]; then
    xb_say "apt-get update ($suite, private lists in $dir)"
    apt-get -q=2 "${XB_APT[@]}" update >&2 || xb_die "apt-get update of $suite from $mirror failed"
  fi
}

xb_apt_candidates() {
  local out
  out=$(apt-cache "${XB_APT[@]}" policy "$@" 2>/dev/null |
    awk '/^[^ ].*:$/ { p = substr($0, 1, length($0) - 1) } $1 == "Candidate:" && $2 != "(none)" { print p "=" $2 }')
  (($(grep -c . <<<"$out") == $#)) || xb_die "no candidate for some of $* in the private apt configuration"
  printf '%s\n' "$out"
}

xb_build_initrd() {
  local cache=$1 name=$2 init=$3 moddir=$4 key=$5 k
  shift 5
  k=$(vm_hash "$key" "$init" "$_xb_here/../vm/lib.sh" "$*")
  [[ $(cat "$cache/boot/$name.key" 2>/dev/null) == "$k" && -s $cache/boot/$name.gz ]] && return 0
  xb_say "building $name.gz"
  rm -f "$cache/ready"
  vm_build_initramfs "$cache/boot/$name.gz" "$init" "$moddir" "$@"
  printf '%s\n' "$k" >"$cache/boot/$name.key"
}
