#!/usr/bin/env bash
# test/xen/checks.sh — what scenarios.sh checks on the guests it started, sourced by it: drops at a
# guard, the guards after an nftables flush, VLAN entries, the hostile and MTU guests, and the hook
# service's xenstore reads. Uses scenarios.sh's check, bad, step, xb, domid, here and root.

# Packets PORT's guard dropped from its guest by the rules commented REASON (plan/guard.ts).
drops() { # PORT REASON
  nft list chain bridge xenbridge "in-$1" 2>/dev/null |
    awk -v r="comment \"$2\"" 'index($0, r) { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }'
}

# dom0 runs no systemd: nftables.service's stop is its ExecStop (flush ruleset), then the package's
# drop-in's ExecStopPost line, run as systemd would (its Environment=, then the line through sh).
guards_after_flush() { # MODE
  local dropin=/lib/systemd/system/nftables.service.d/xenbridge-guards.conf line rc try
  nft flush ruleset
  xb verify >/dev/null 2>&1; rc=$?
  check "with the ruleset flushed ($1), as nftables.service's stop does, verify fails (status $rc)" test "$rc" = 3
  line=$(sed -n 's/^ExecStopPost=-//p' "$dropin")
  # repair-guards is idempotent: run again only if node died under emulation (see xb).
  for try in 1 2 3; do
    env $(sed -n 's/^Environment=//p' "$dropin") sh -c "eval \"\$1\"" _ "$line"; rc=$?
    ((rc < 128 || try == 3)) && break
    crashes=$((crashes + 1)); step "note: node died under emulation (status $rc): running the drop-in's repair-guards again"
  done
  check "the drop-in's ExecStopPost line put the guards back (status $rc)" test "$rc" = 0
  check "xenbridge verify ($1, after the repair)" xb verify
}

vlans_are() { # PORT ENTRY...: the port's VLAN entries in bridge -j vlan show, exactly these
  local got want
  got=$(bridge -j vlan show dev "$1" | grep -o '{"vlan":[^{}]*}')
  want=$(printf '%s\n' "${@:2}")
  [[ $got == "$want" ]] || { echo "  $1 has: $(tr '\n' ' ' <<<"$got")" >&2; return 1; }
}

# The access guest, once its legitimate pings passed, made its own eth0.20 and pinged VLAN 20's
# peer, then took the MAC $SPOOF and pinged its VLAN-10 peer (domu-init.sh xb.unreach, xb.spoof):
# its pings got no answer; here, where its frames died.
SPOOF=00:16:3e:00:0a:99
hostile_checks() { # GUEST
  local v n
  [[ -n $(domid "$1") ]] || { bad "$1 is not running: no isolation checks"; return; }
  v=vif$(domid "$1").0
  n=$(drops "$v" 'tagged frame on an untagged port')
  check "$1's frames tagged 20 by itself died at $v's guard ($n dropped)" test "$n" -gt 0
  check "none left: the switch never heard from 10.20.0.21" test -z "$(ip -n sw neigh show to 10.20.0.21)"
  n=$(drops "$v" 'spoofed source MAC')
  check "$1's frames from $SPOOF died at $v's guard ($n dropped)" test "$n" -gt 0
  check "no bridge learned $SPOOF and the switch never saw it" bash -c '! bridge fdb show | grep -qi "$1" && ! ip -n sw neigh show | grep -qi "$1"' _ "$SPOOF"
}

# The untagged guest on the 9000-byte bridge (domu-init.sh xb.mtu, xb.bigping).
mtu_checks() { # GUEST ADDRESS
  local d fe
  d=$(domid "$1")
  [[ -n $d ]] || { bad "$1 is not running: no MTU checks"; return; }
  check "the hook told $1's frontend mtu 9000 (device/vif/0/mtu)" test "$(xenstore-read "/local/domain/$d/device/vif/0/mtu" 2>/dev/null)" = 9000
  check "vif$d.0 has mtu 9000" test "$(cat "/sys/class/net/vif$d.0/mtu" 2>/dev/null)" = 9000
  check "dom0 reaches $1 with an 8972-byte don't-fragment ping" ping -M do -s 8972 -c 1 -W 5 "$2"
  fe=$("$here/domu.sh" results "$1" | sed -n 's/.* mtu eth0 frontend=\([0-9]*\).*/\1/p')
  if [[ $fe == 9000 ]]; then
    step "note: $1's netfront took mtu 9000 from that key"
  else
    # Checked in the module: xen-netfront of 6.1 and 6.12 has no "mtu" string; it reads "mac" only.
    step "note: $1's netfront left eth0 at mtu ${fe:-?}: Linux's xen-netfront ($(uname -r)) reads no mtu key, so the guest set 9000 itself (xb.mtu) for its 8972-byte ping to dom0"
  fi
}

# The hook service reads a batch's vifs in one xenstore-list -p and one xenstore-read when xenstored
# has no socket in dom0: through Xen's own tools (exactly those two processes), the same keys as
# over the socket (no process at all), none missing.
tools_read_same() { # DOMID...
  [[ -S /run/xenstored/socket ]] || { echo "no xenstored socket to compare with" >&2; return 1; }
  node --input-type=module -e '
    const [{ createRunner }, { readVifKeysMany }] = await Promise.all([import(process.argv[1] + "/dist/exec/runner.js"), import(process.argv[1] + "/dist/state/xenstore.js")]);
    const bases = process.argv.slice(2).map((d) => `backend/vif/${d}/0`);
    const real = createRunner();
    const ran = [];
    const runner = { ...real, netns: real.netns, residentNft: real.residentNft, run: (cmd, args, o) => { ran.push(cmd); return real.run(cmd, args, o); } };
    const show = (m) => JSON.stringify(bases.map((b) => Object.entries(m.get(b) ?? {}).sort()));
    const sock = await readVifKeysMany({ runner, timeoutMs: 20000, socket: "/run/xenstored/socket" }, bases);
    const bySocket = ran.splice(0);
    const tools = await readVifKeysMany({ runner, timeoutMs: 20000 }, bases);
    const ok = bases.length > 1 && bySocket.length === 0 && ran.join(" ") === "xenstore-list xenstore-read" &&
      bases.every((b) => typeof tools.get(b)?.bridge === "string" && typeof tools.get(b)?.mac === "string") && show(sock) === show(tools);
    if (!ok) console.error(`socket ${show(sock)} (processes: ${bySocket.join(" ")})\ntools  ${show(tools)} (processes: ${ran.join(" ")})`);
    process.exit(ok ? 0 : 1);
  ' "$root" "$@"
}
