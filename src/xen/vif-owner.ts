/**
 * Which kernel link a vif event may touch. A guest's config (often written by a panel or a customer
 * API, not by dom0's admin) chooses `vifname`; it must never lead the hook to a link that is not
 * the guest's own device. Ours is the link xl named in the event (vifD.N / vifD.N-emu, matching
 * XENBUS_PATH) when it is a device a backend makes, or the link this hook renamed that very device
 * to, known by the ifindex recorded at online.
 */
import { shown, XbError } from '../errors.js';
import { ifnameProblem, XEN_VIF_RE } from '../model/ifname.js';
import type { Topology } from '../model/topology.js';
import { linkByName, type HostState, type Link } from '../state/types.js';
import type { VifEvent } from './hotplug-env.js';
import type { VifRecord } from './vif-record.js';

/** Names the topology gives dom0's own links, now or on demand (bridgeNvID, dom0-if.VID). */
export const ownedByTopology = (name: string, t: Topology): string | undefined => {
  for (const b of t.bridges) {
    const fixed = [b.name, b.uplink, b.uplinkPort, b.dom0.ifname, b.dom0.peer, ...b.vlans.flatMap((v) => [v.device, v.bridge])];
    if (fixed.includes(name)) return `it is a link of bridge ${b.name} in the topology`;
    const onDemand = name.startsWith(`${b.name}v`) ? name.slice(b.name.length + 1) : name.startsWith(`${b.dom0.ifname}.`) ? name.slice(b.dom0.ifname.length + 1) : undefined;
    if (onDemand !== undefined && /^\d+$/.test(onDemand)) return `it is a VLAN link name of bridge ${b.name}`;
  }
  if (t.names.some((n) => n.name === name)) return 'it is a NIC name in the topology';
  return undefined;
};

/** The name the vif should end up with: xenstore's vifname (-emu for taps), refused when it names anything but a fresh name. */
export const vifnameFor = (ev: VifEvent, vifname: string | undefined, t: Topology): string => {
  if (!vifname) return ev.dev;
  const name = ev.typeIf === 'tap' ? `${vifname}-emu` : vifname;
  if (name === ev.dev) return name;
  const why = ifnameProblem(name)
    ?? (XEN_VIF_RE.test(name) ? `${shown(name)} is the name Xen gives another guest's device` : undefined)
    ?? (name === 'lo' ? '"lo" is the loopback device' : undefined)
    ?? ownedByTopology(name, t);
  if (why) throw new XbError('xenstore', `vifname ${shown(vifname)} refused: ${why.replace(/^interface name /, '')}`);
  return name;
};

/**
 * A link a backend makes for a guest: netback's vif (no link kind; bus xen-backend, device
 * vif-D-N where the kernel reports it), QEMU's tap (kind tun), or a veth, which is how test beds
 * without Xen stand in for netback. Bridges, VLAN devices, bonds, PCI NICs and the rest never are.
 */
export const isGuestDevice = (l: Link, ev: VifEvent): boolean => {
  if (l.parentbus !== undefined) return l.parentbus === 'xen-backend' && l.parentdev === `vif-${ev.domid}-${ev.devid}`;
  if (l.kind === 'veth') return true;
  if (ev.typeIf === 'tap') return l.kindName === 'tun';
  return l.kind === 'device';
};

/**
 * The guest's own link, if it exists: by the name xl gave (when it is a guest device), else by the
 * name this hook renamed it to (when the ifindex still matches the record). Never anything else.
 */
export const ownLink = (ev: VifEvent, rec: VifRecord | undefined, s: HostState): Link | undefined => {
  const byDev = linkByName(s, ev.dev);
  if (byDev) {
    if (!isGuestDevice(byDev, ev)) throw new XbError('state', `${ev.dev} is a ${byDev.kindName} link, not a device the Xen backend made for domain ${ev.domid}: left alone`);
    return byDev;
  }
  if (!rec) return undefined;
  const renamed = linkByName(s, rec.name);
  return renamed && renamed.ifindex === rec.ifindex && isGuestDevice(renamed, ev) ? renamed : undefined;
};
