/** verify's findings for vif guards (apply/guard-check.ts), and for vif ports no guard was ever made for. */
import type { GuardCheck, GuardState } from '../apply/guard-check.js';
import { defaultVlanBridge } from '../model/ifname.js';
import type { BridgeSpec, Topology } from '../model/topology.js';
import type { HostState, Link } from '../state/types.js';
import type { Finding } from './lint.js';

const WHAT: Record<Exclude<GuardState, 'ok' | 'retired'>, string> = {
  missing: 'has no guard in the kernel: its frames are not checked (VLAN, MAC, addresses)',
  incomplete: 'has only part of its guard (a chain or map element is gone)',
  differs: 'has a guard other than the one its xenstore keys give it (changed by hand, or made by an older xenbridge)',
  unmasked: "does not forward its guest's frames to the bridge-local groups (01:80:c2:00:00:0X) into its guard: its own stack takes them past every bridge hook, from any source address",
  orphan: 'has guard rules but no attached port (or no record of them)',
};

export const guardFindings = (checks: GuardCheck[]): Finding[] =>
  // A retired guard is expected: its port is gone, so it checks no frame, and it is removed later.
  checks.filter((c) => c.state !== 'ok' && c.state !== 'retired').map((c) => ({
    level: c.state === 'orphan' ? 'warning' : 'error',
    rule: `vif-guard-${c.state}`,
    message: `${c.dev} ${WHAT[c.state as Exclude<GuardState, 'ok' | 'retired'>]}`,
    fix: c.state === 'unmasked' ? `xenbridge apply (sets the port's group_fwd_mask, as: ip link set dev ${c.dev} type bridge_slave group_fwd_mask 0xfffd)` : c.state === 'orphan' ? (c.record ? 'xenbridge apply (removes it)' : `nft delete element bridge xenbridge vifs-in { "${c.dev}" } (and vifs-out), then nft delete chain bridge xenbridge in-${c.dev} (and out-${c.dev})`) : 'xenbridge apply (re-creates it from the record the vif hook wrote)',
  }));

/** A netback device (the kernel names its parent vif-D-N on the xen-backend bus, whatever vifname= made of it), or Xen's default names. */
const isVif = (l: Link): boolean => l.parentbus === 'xen-backend' || /^vif\d+\.\d+(-emu)?$/.test(l.name);

/**
 * The topology bridge a port's master belongs to, when every vif there gets a guard from the hook:
 * each bridge= form gets one unless the bridge turns off both antispoofing and the untagged-only shape.
 */
const guardingSpec = (t: Topology, master: string): BridgeSpec | undefined =>
  t.bridges.find((b) => (b.vifAntispoof || !b.insecureVifAllTags) &&
    (b.name === master || b.vlans.some((v) => (v.bridge ?? defaultVlanBridge(b.name, v.id)) === master) ||
      (b.mode === 'classic' && master.startsWith(`${b.name}v`) && /^\d+$/.test(master.slice(b.name.length + 1)))));

/**
 * A vif attached by something other than the hook (Xen's vif-bridge, brctl by hand) has neither a
 * guard nor a record, so the checks above never see it: its guest can send any tag, MAC or address.
 */
export const unguardedVifFindings = (t: Topology, s: Pick<HostState, 'links'>, checks: GuardCheck[]): Finding[] =>
  s.links.filter((l) => l.master !== undefined && isVif(l) && !checks.some((c) => c.dev === l.name) && guardingSpec(t, l.master))
    .map((l) => ({
      level: 'error',
      rule: 'vif-guard-unrecorded',
      message: `${l.name} is a port of ${l.master} with no guard and no record of one: it was attached outside xenbridge's hook, so its frames are not checked (VLAN, MAC, addresses)`,
      fix: `attach it through the hook: xl network-detach and network-attach, or run the hook's online for it (XENBUS_PATH=backend/vif/D/N vif=${l.name} xenbridge vif online type_if=vif)`,
    }));
