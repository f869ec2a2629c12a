/**
 * A bridge whose uplink is a bond: the bond (adopted when it exists, else created under the port's
 * name) stands where a NIC stands, and its members are enslaved to it.
 */
import { XbError } from '../errors.js';
import type { BondSpec } from '../model/bond.js';
import type { BridgeSpec } from '../model/topology.js';
import { isNicLike, linkByName, type HostState, type Link } from '../state/types.js';

export interface BondUplink {
  /**
   * The bond as it is now, or a stand-in for the one to create (ifindex 0, named as the port) whose
   * MAC is its first member's own: the MAC dom0's interface takes.
   */
  link: Link;
  exists: boolean;
  members: Link[];
}

/** A member carries its bond's MAC; its own is the permanent one (for a veth, the one it had when enslaved). */
const ownMac = (l: Link): string => l.permaddr ?? l.mac;

const findMembers = (bond: BondSpec, s: HostState, bondNames: string[]): Link[] => {
  const nics = (): string => s.links.filter(isNicLike).map((l) => l.name).join(', ') || 'none';
  return bond.members.map((m) => {
    const l = linkByName(s, m);
    if (!l || !isNicLike(l)) {
      throw new XbError('state', `${bond.where.members}: member ${m} of bond ${bond.name} ${l ? `is a ${l.kindName}, not a NIC` : 'does not exist'}`, { detail: [`NICs here: ${nics()}`] });
    }
    if (l.master !== undefined && !bondNames.includes(l.master)) {
      throw new XbError('state', `${bond.where.members}: member ${m} of bond ${bond.name} is already a port of ${l.master}`, { detail: [`release it first (ip link set dev ${m} nomaster), or leave it out of members`] });
    }
    const vlan = s.links.find((v) => v.kind === 'vlan' && v.link === m);
    if (vlan) {
      throw new XbError('state', `${bond.where.members}: ${vlan.name} (VLAN ${vlan.vlanId}) sits on ${m}, which becomes a member of bond ${bond.name}; it would steal VLAN ${vlan.vlanId} from the bridge`, {
        detail: [`delete ${vlan.name} first, or list VLAN ${vlan.vlanId} under the bridge's vlans and keep ${m} out of the bond`],
      });
    }
    return l;
  });
};

export const findBond = (b: BridgeSpec, bond: BondSpec, s: HostState): BondUplink => {
  const port = b.uplinkPort ?? bond.name;
  const names = [port, bond.name];
  const live = names.flatMap((n) => linkByName(s, n) ?? []).find((l) => l.kind === 'bond');
  const blocker = linkByName(s, port);
  if (!live && blocker) {
    throw new XbError('state', `${b.where.uplink}: bond ${bond.name} would be created as ${port}, but ${port} is already a ${blocker.kindName}`, { detail: ['rename or delete it, or set uplink-port'] });
  }
  const members = findMembers(bond, s, names);
  if (live) {
    if (live.bond && live.bond.mode !== bond.mode) {
      throw new XbError('state', `${bond.where.self}: bond ${live.name} exists in mode ${live.bond.mode}, but the file says ${bond.mode}`, {
        detail: ['a bond changes mode only without members and down: write its mode in the file, or remake the bond'],
      });
    }
    const extra = s.links.filter((l) => l.master === live.name && !bond.members.includes(l.name));
    if (extra.length > 0) {
      throw new XbError('state', `${bond.where.members}: bond ${live.name} has member${extra.length > 1 ? 's' : ''} ${extra.map((l) => l.name).join(', ')} that the file does not list`, {
        detail: ['list every member of an existing bond, or release the others first'],
      });
    }
    return { link: live, exists: true, members };
  }
  const first = members[0];
  const seedMac = first ? ownMac(first) : '02:00:00:00:00:00';
  const link: Link = {
    ifindex: 0, name: port, kind: 'bond', kindName: 'bond', up: false, noarp: false, operstate: 'DOWN', carrier: false,
    mtu: first?.mtu ?? 1500, mac: seedMac, peerElsewhere: false, addrs: [],
  };
  return { link, exists: false, members };
};
