/**
 * Steps for one vif, from the fast read. Port setup as vif-bridge does it (Xen's fe:ff:ff:ff:ff:ff
 * MAC, the MTU, the vifname rename, enslave, up) plus what vif-bridge cannot: VLAN entries and
 * on-demand VLAN bridges. Everything already right is left alone, so a repeated call changes nothing.
 */
import { XbError } from '../errors.js';
import { XEN_PORT_MAC } from '../model/net.js';
import * as op from '../plan/steps.js';
import type { Step } from '../plan/steps.js';
import { GUARDED_PORT_FWD_MASK } from '../model/guard-table.js';
import { guestPortFlags } from '../plan/steps-guard.js';
import { diffVlanEntries, freshPortEntries } from '../plan/vlan-entries.js';
import { canRenameLive, linkByName, portsOf, type HostState, type Link } from '../state/types.js';
import type { VifTarget } from '../plan/vif-target.js';

export interface OnlineInput {
  dev: string;
  /** The name the vif should end up with (xenstore vifname, -emu for taps), or dev. */
  name: string;
  /** xenstore mtu, already validated. */
  mtu?: number;
  target: VifTarget;
  /** The guest's own link (see ownLink), whatever its name now; undefined when it does not exist. */
  own: Link | undefined;
  /** The port has a guard (nft drops its frames to the bridge-local groups once they are forwarded). */
  guarded: boolean;
}

/** Creating a vif-vlans VLAN on first use: a VLAN device on dom0's veth end and a bridge above it. */
const onDemandSteps = (t: VifTarget, s: HostState): Step[] => {
  const od = t.onDemand;
  if (!od) return [];
  const parent = linkByName(s, t.spec.dom0.ifname);
  if (!parent) throw new XbError('state', `${t.spec.dom0.ifname} (dom0's interface on ${t.spec.name}) does not exist: run xenbridge apply first`);
  const steps: Step[] = [];
  const mtu = t.spec.mtu;
  if (!linkByName(s, od.bridge)) steps.push(op.addBridge(od.bridge, { stp: t.spec.stp, forwardDelay: t.spec.forwardDelay * 100, vlanFiltering: false, mac: parent.mac, mtu }));
  const dev = linkByName(s, od.device);
  if (!dev) steps.push(op.addVlan(od.device, { parent: parent.name, id: od.id, mtu }));
  if (dev?.master !== od.bridge) steps.push(op.setMaster(od.device, od.bridge, dev?.master));
  if (!linkByName(s, od.bridge)?.up) steps.push(op.setUp(od.bridge, true));
  if (!dev?.up) steps.push(op.setUp(od.device, true));
  return steps;
};

export const planOnline = (input: OnlineInput, s: HostState): { first: Step[]; setup: Step[]; onDemand: Step[]; mtu?: number } => {
  const { dev, name, target } = input;
  const cur = input.own;
  if (!cur) throw new XbError('state', `device ${dev} does not exist (the backend has not created it)`);
  if (cur.name !== name && linkByName(s, name)) throw new XbError('state', `cannot rename ${cur.name} to ${name}: ${name} already exists`);
  const onDemand = onDemandSteps(target, s);
  const bridge = linkByName(s, target.bridge);
  if (!bridge && !target.onDemand) throw new XbError('state', `bridge ${target.bridge} does not exist: run xenbridge apply first`);
  // A VLAN bridge made on demand takes its VLAN device's MTU, which is dom0's interface's.
  const bridgeMtu = bridge?.mtu ?? target.spec.mtu ?? (target.onDemand ? linkByName(s, target.spec.dom0.ifname)?.mtu : undefined);
  // The kernel lowers a bridge to its smallest port's MTU (unless set by hand), and a link below
  // 1280 loses its IPv6 addresses: a lower xenstore mtu would shrink dom0's path and every guest's.
  if (input.mtu !== undefined && bridgeMtu !== undefined && input.mtu < bridgeMtu) {
    throw new XbError('xenstore', `mtu ${input.mtu} is below ${target.bridge}'s MTU ${bridgeMtu}: a port with a lower MTU would lower the bridge's, for dom0 and every guest on it`);
  }
  const mtu = input.mtu ?? bridgeMtu;
  const setup: Step[] = [];
  const needsDown = cur.up && (cur.mac !== XEN_PORT_MAC || (cur.name !== name && !canRenameLive(s.kernel)));
  if (needsDown) setup.push(op.setUp(cur.name, false));
  if (cur.mac !== XEN_PORT_MAC) setup.push(op.setMac(cur.name, XEN_PORT_MAC, cur.mac));
  // Before the vif is up: with eui64 every vif would claim fe80::fcff:ffff:feff:ffff by DAD on the wire.
  if (cur.addrGenMode !== undefined && cur.addrGenMode !== 'none') setup.push(op.setAddrGenMode(cur.name, 'none', cur.addrGenMode));
  if (mtu !== undefined && cur.mtu !== mtu) setup.push(op.setMtu(cur.name, mtu, cur.mtu));
  if (cur.name !== name) setup.push(op.rename(cur.name, name));
  const fresh = cur.master !== target.bridge;
  if (fresh) setup.push(op.setMaster(name, target.bridge, cur.master));
  // A guest is never a bridge: its BPDU disables its port (guard) and never elects it the way to the
  // root (root_block), which with STP on would block the uplink. A guarded port forwards its frames
  // to the bridge-local groups into its guard, which drops them, instead of its own stack taking
  // them past every hook (an unguarded one would flood them). The port's own; leaving the bridge
  // clears them. A port attached without them (an older xenbridge) gets them at its next online.
  const mask = input.guarded ? GUARDED_PORT_FWD_MASK : 0;
  const maskStale = (fresh ? 0 : cur.portFwdMask ?? 0) !== mask;
  if (fresh || cur.portGuarded !== true || maskStale) setup.push(guestPortFlags(name, mask !== 0 || maskStale ? mask : undefined));
  if (!cur.up || needsDown) setup.push(op.setUp(name, true));
  if (target.spec.mode === 'filtering') {
    const current = fresh ? freshPortEntries(name) : s.vlans.filter((e) => e.dev === cur.name).map((e) => ({ ...e, dev: name }));
    setup.push(...diffVlanEntries(current, target.entries.map((e) => ({ ...e, dev: name })), target.keepNative));
  }
  // An unguarded port's stack is handed the guest's frames to the bridge-local groups (01:80:c2:00:00:0X)
  // past every bridge hook: an RA sent there would give dom0 a route through the guest. Before the
  // guard (one shell with it, under its current name): whatever reaches it, the port's stack takes no RA.
  const first = fresh ? [op.step({ kind: 'line', tool: 'sysctl', line: `quiet ${cur.name} accept_ra 0` }, [])] : [];
  return { first, setup, onDemand, mtu };
};

/** Detach the guest's own link: nomaster and down; a vanished device is success (offline may run twice). */
export const planOffline = (cur: Link | undefined): Step[] => {
  if (!cur) return [];
  return [...(cur.master ? [op.setMaster(cur.name, undefined, cur.master)] : []), ...(cur.up ? [op.setUp(cur.name, false)] : [])];
};

/** An on-demand VLAN bridge whose last vif left: remove it and its VLAN device. */
export const planOnDemandCleanup = (t: VifTarget, leaving: string[], s: HostState): Step[] => {
  const od = t.onDemand;
  if (!od || !linkByName(s, od.bridge)) return [];
  const others = portsOf(s, od.bridge).filter((p) => p.name !== od.device && !leaving.includes(p.name));
  if (others.length > 0) return [];
  return [...(linkByName(s, od.device) ? [op.delLink(od.device)] : []), op.delLink(od.bridge)];
};
