# shellcheck shell=bash
# test/vm/lib.sh — reusable pieces of the VM test bed (sourced by bash scripts).
#
# Nothing here knows about xenbridge or about which modules/init a bed wants:
# test/vm/prepare.sh and test/vm/run.sh (and a Xen bed) pass those in.
#
#   vm_say / vm_die MSG               one line on stderr, prefixed "xenbridge-vm:"
#   vm_cache_dir                      ${XENBRIDGE_VM_CACHE:-$HOME/.cache/xenbridge-vm}
#   vm_apt_install PKG...             apt-get install what is not installed yet (update only if needed)
#   vm_kernel_pkg [META]              the versioned package META (linux-image-amd64) depends on
#   vm_fetch_kernel PKG DIR           apt-get download + dpkg -x PKG into DIR/root, once
#   vm_kernel_version ROOT            the single version under ROOT/lib/modules
#   vm_vmlinux BZIMAGE OUT            the uncompressed ELF kernel inside a bzImage (PVH boot)
#   vm_busybox                        path of a statically linked busybox
#   vm_module_builtin MODDIR NAME     true if NAME is built into the kernel (modules.builtin)
#   vm_module_file MODDIR NAME        path of NAME.ko / .ko.xz / .ko.zst / .ko.gz under MODDIR
#   vm_build_initramfs OUT INIT MODDIR NAME...
#                                     gzip'ed newc cpio: busybox + applet links, INIT as /init,
#                                     /lib/modules/NN-NAME.ko (load order = glob order)
#   vm_hash ARG...                    short sha256 over files' contents / literal strings
#   vm_write_cmd_script FILE DIR VAR... -- CMD ARG...
#                                     sh script that recreates the caller's VARs and cwd DIR,
#                                     then execs CMD (what the guest init runs in the chroot)
#   vm_qemu_run TIMEOUT STATUSFILE QEMU_ARG...
#                                     run qemu with a hard timeout; returns the status the guest
#                                     wrote as "XENBRIDGE_VM_EXIT=N" into STATUSFILE, sets VM_OUTCOME

vm_say() { printf 'xenbridge-vm: %s\n' "$*" >&2; }
vm_die() { vm_say "$*"; exit 1; }

vm_cache_dir() { printf '%s\n' "${XENBRIDGE_VM_CACHE:-$HOME/.cache/xenbridge-vm}"; }

_vm_apt_updated=
_vm_apt_update() {
  [[ -n $_vm_apt_updated ]] && return 0
  vm_say "apt-get update"
  # Another apt (a sibling bed, CI) may hold the lock: wait for it instead of failing.
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || vm_die "apt-get update failed"
  _vm_apt_updated=1
}

# Packages whose dpkg status is not "installed".
vm_apt_missing() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || printf '%s\n' "$p"
  done
}

vm_apt_install() {
  local missing
  mapfile -t missing < <(vm_apt_missing "$@")
  ((${#missing[@]})) || return 0
  [[ $(id -u) == 0 ]] || vm_die "need root to apt-get install ${missing[*]}"
  # Update first only when apt knows no candidate (fresh machine, empty lists); otherwise try
  # the lists we have and update once if the download fails (stale lists → 404).
  if apt-cache policy "${missing[@]}" 2>/dev/null | grep -q 'Candidate: (none)' ||
    [[ $(apt-cache policy "${missing[@]}" 2>/dev/null | grep -c 'Candidate:') -lt ${#missing[@]} ]]; then
    _vm_apt_update
  fi
  vm_say "apt-get install ${missing[*]}"
  local i
  for i in 1 2; do
    # --no-install-recommends: qemu-system-x86 recommends a GUI stack (≈150 more packages).
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends "${missing[@]}" >&2 && return 0
    [[ $i == 1 ]] && _vm_apt_update
  done
  vm_die "apt-get install ${missing[*]} failed"
}

_vm_dep() { apt-cache depends "$1" 2>/dev/null | awk '$1 ~ /Depends:$/ && $2 ~ /^linux-image-/ {print $2; exit}'; }
vm_kernel_pkg() {
  local meta=${1:-linux-image-amd64} dep
  dep=$(_vm_dep "$meta")
  [[ -n $dep ]] || { _vm_apt_update; dep=$(_vm_dep "$meta"); }
  [[ -n $dep ]] || vm_die "cannot resolve the kernel package behind $meta (apt-cache depends $meta)"
  printf '%s\n' "$dep"
}

# vm_fetch_kernel PKG DIR: DIR/root gets the package's files (boot/vmlinuz-*, lib/modules/*).
# Done in a temp dir and renamed, so an interrupted fetch never looks complete.
vm_fetch_kernel() {
  local pkg=$1 dir=$2 tmp
  [[ -f $dir/root/.complete ]] && return 0
  mkdir -p "$(dirname "$dir")"
  tmp=$(mktemp -d "$dir.tmp.XXXXXX")
  vm_say "apt-get download $pkg"
  # APT::Sandbox::User=root: _apt cannot write into a root-owned private temp dir.
  if ! (cd "$tmp" && apt-get -q=2 -o APT::Sandbox::User=root download "$pkg" >&2); then
    _vm_apt_update
    (cd "$tmp" && apt-get -q=2 -o APT::Sandbox::User=root download "$pkg" >&2) ||
      { rm -rf "$tmp"; vm_die "apt-get download $pkg failed"; }
  fi
  dpkg -x "$tmp"/*.deb "$tmp/root" || { rm -rf "$tmp"; vm_die "dpkg -x of $pkg failed"; }
  rm -f "$tmp"/*.deb
  touch "$tmp/root/.complete"
  chmod 0755 "$tmp"
  rm -rf "$dir"
  mv "$tmp" "$dir"
}

vm_kernel_version() {
  local root=$1 v
  v=$(ls "$root/lib/modules")
  [[ -n $v && $v != *$'\n'* ]] || vm_die "expected exactly one kernel under $root/lib/modules"
  printf '%s\n' "$v"
}

# vm_vmlinux BZIMAGE OUT: qemu boots an ELF vmlinux with a PVH entry note directly; under TCG
# that skips ~3 s of the bzImage decompressing itself. The payload is the first xz, zstd or gzip
# stream in the file that decompresses to an ELF image.
vm_vmlinux() {
  local in=$1 out=$2 magic off dec
  # shellcheck disable=SC2013 # byte offsets, one word each
  for magic in '\xfd7zXZ\x00:xz' '\x28\xb5\x2f\xfd:zstd' '\x1f\x8b\x08:gzip'; do
    dec=${magic##*:}
    command -v "$dec" >/dev/null || continue
    for off in $(LC_ALL=C grep -obUaP "${magic%:*}" "$in" | cut -d: -f1); do
      # Trailing bytes after the stream make the decompressors complain: ignore that.
      tail -c +"$((off + 1))" "$in" | "$dec" -dc 2>/dev/null >"$out.tmp"
      if [[ $(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]]; then
        mv "$out.tmp" "$out"
        return 0
      fi
    done
  done
  rm -f "$out.tmp"
  return 1
}

# A statically linked busybox: the initramfs has no libc. Debian's busybox-static is /bin/busybox.
vm_busybox() {
  local c
  for c in ${XENBRIDGE_VM_BUSYBOX:-} /bin/busybox /usr/bin/busybox "$(command -v busybox 2>/dev/null)"; do
    [[ -n $c && -x $c ]] || continue
    # A dynamic ELF names its loader (PT_INTERP); a static one does not.
    LC_ALL=C grep -q -a '/ld-linux' "$c" && continue
    printf '%s\n' "$c"
    return 0
  done
  vm_die "no statically linked busybox found (apt-get install busybox-static)"
}

# Module names are equal with '-' and '_' (the kernel treats them the same).
_vm_modre() { local n=${1//[-_]/[-_]}; printf '%s' "$n"; }

vm_module_builtin() {
  local moddir=$1 name=$2
  [[ -f $moddir/modules.builtin ]] || return 1
  grep -qE "(^|/)$(_vm_modre "$name")\.ko\$" "$moddir/modules.builtin"
}

vm_module_file() {
  local moddir=$1 name=$2 f
  f=$(find "$moddir/kernel" -regextype posix-extended \
    -regex ".*/$(_vm_modre "$name")\.ko(\.xz|\.zst|\.gz)?" -print -quit 2>/dev/null)
  [[ -n $f ]] || return 1
  printf '%s\n' "$f"
}

# vm_build_initramfs OUT INIT MODDIR NAME...: modules are taken in the order given (the caller
# owns dependency order); a name built into the kernel is skipped, a missing one is an error.
# Compressed modules are decompressed here: busybox insmod does not read .xz/.zst.
vm_build_initramfs() {
  local out=$1 init=$2 moddir=$3 bb tmp a name f i=0 dst
  shift 3
  bb=$(vm_busybox)
  tmp=$(mktemp -d)
  mkdir -p "$tmp"/{bin,dev,proc,sys,run,tmp,lib/modules}
  cp "$bb" "$tmp/bin/busybox"
  for a in $("$bb" --list); do
    [[ $a == busybox ]] || ln -s busybox "$tmp/bin/$a"
  done
  ln -s bin "$tmp/sbin"
  install -m 0755 "$init" "$tmp/init"
  for name in "$@"; do
    if vm_module_builtin "$moddir" "$name"; then
      vm_say "module $name is built into the kernel: not loading it"
      continue
    fi
    f=$(vm_module_file "$moddir" "$name") || { rm -rf "$tmp"; vm_die "kernel module $name not found under $moddir"; }
    i=$((i + 1))
    dst=$tmp/lib/modules/$(printf '%02d' "$i")-${name//-/_}.ko
    case $f in
      *.xz) xz -dc "$f" >"$dst" ;;
      *.zst) zstd -dc "$f" >"$dst" ;;
      *.gz) gzip -dc "$f" >"$dst" ;;
      *) cp "$f" "$dst" ;;
    esac
  done
  (cd "$tmp" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -9n) >"$out.tmp" &&
    mv "$out.tmp" "$out"
  local rc=$?
  rm -rf "$tmp"
  return "$rc"
}

vm_hash() {
  local a
  for a in "$@"; do
    if [[ -f $a ]]; then cat "$a"; else printf '%s' "$a"; fi
    printf '\0'
  done | sha256sum | cut -c1-16
}

# POSIX single quotes, for any /bin/sh (bash's %q may produce $'...' that dash cannot read).
vm_shquote() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }

# vm_write_cmd_script FILE DIR VAR... -- CMD ARG...
# A /bin/sh script that the guest's init runs in the chroot with an empty environment: it sets
# the named variables (those set here) to their values here, cds to DIR and execs CMD. Plain
# sh and no subshells: each fork+exec and each library loaded over 9p costs under emulation.
vm_write_cmd_script() {
  local file=$1 dir=$2 v
  shift 2
  {
    printf '#!/bin/sh\n'
    while (($#)) && [[ $1 != -- ]]; do
      v=$1
      shift
      [[ $v =~ ^[A-Za-z_][A-Za-z0-9_]*$ && -v $v ]] || continue
      printf 'export %s=%s\n' "$v" "$(vm_shquote "${!v}")"
    done
    [[ ${1:-} == -- ]] && shift
    (($#)) || vm_die "vm_write_cmd_script: no command"
    printf 'cd -- %s || exit 125\n' "$(vm_shquote "$dir")"
    printf 'exec'
    for v in "$@"; do printf ' %s' "$(vm_shquote "$v")"; done
    printf '\n'
  } >"$file"
  chmod 0755 "$file"
}

# vm_qemu_run TIMEOUT STATUSFILE QEMU_ARG...: after TIMEOUT seconds qemu is sent TERM, and KILL
# 5 s later; INT/TERM/HUP sent to us are passed on to it. Prints nothing itself. Sets
# VM_OUTCOME: exited (the guest wrote XENBRIDGE_VM_EXIT=N into STATUSFILE; returns N),
# timeout (returns 124), interrupted (returns 130) or lost (no status: qemu error, guest
# panic; returns 125).
VM_OUTCOME=
_vm_signalled=
# shellcheck disable=SC2034 # VM_OUTCOME is read by the callers
vm_qemu_run() {
  local t=$1 status=$2 rc line pid
  shift 2
  : >"$status"
  _vm_signalled=
  # stdin from /dev/null: the guest command never reads the caller's terminal, and qemu does
  # not put that terminal in raw mode. In the background so that our traps run while it does.
  timeout --foreground -k 5 "$t" "$@" </dev/null &
  pid=$!
  trap '_vm_signalled=1; kill -TERM '"$pid"' 2>/dev/null' INT TERM HUP
  while :; do
    wait "$pid"
    rc=$?
    kill -0 "$pid" 2>/dev/null || break
  done
  trap - INT TERM HUP
  wait "$pid" 2>/dev/null && rc=0 || rc=$?
  line=$(grep -a -m1 -o 'XENBRIDGE_VM_EXIT=[0-9]*' "$status" 2>/dev/null || true)
  if [[ -n $line ]]; then
    VM_OUTCOME=exited
    return "${line#*=}"
  fi
  if [[ -n $_vm_signalled ]]; then VM_OUTCOME=interrupted; return 130; fi
  if [[ $rc == 124 || $rc == 137 ]]; then VM_OUTCOME=timeout; return 124; fi
  VM_OUTCOME=lost
  return 125
}
