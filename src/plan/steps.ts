/**
 * Steps: an op and the ops that undo it, built from the state the op changes. Pure: nothing here
 * runs; the lines a batch runs are rendered from the ops (render.ts).
 */
import { XbError } from '../errors.js';
import { bondOpts, type BondSpec } from '../model/bond.js';
import type { Addr, Link, Route, VlanEntry } from '../state/types.js';
import { bridgeOptOps, inverse, type AddrGenMode, type BridgeOpts, type Ipv6ConfKey, type Op } from './ops.js';

export { stpDelayOk, type BridgeOpts, type Op } from './ops.js';
export { addrSpec, routeSpec, type Line } from './render.js';

export interface Step {
  op: Op;
  undo: Op[];
  /** Set by crash recovery: whether this step ran is unknown, so its undo may fail harmlessly. */
  uncertain?: true;
  /** Run in its place when the kernel refuses it as busy (EBUSY); never recorded. */
  busy?: Step[];
}

/** A step undone by the op's inverse, unless told otherwise. */
export const step = (op: Op, undo: Op[] = inverse(op)): Step => ({ op, undo });

export const addBridge = (name: string, o: BridgeOpts & { mac?: string; mtu?: number }): Step =>
  step({ kind: 'addBridge', dev: name, mac: o.mac, mtu: o.mtu, opts: { stp: o.stp, forwardDelay: o.forwardDelay, vlanFiltering: o.vlanFiltering } });

/** A change that turns STP off under a delay it forbids is planned as two steps (see bridgeOptOps). */
export const setBridge = (name: string, o: BridgeOpts, was: BridgeOpts): Step => {
  const ops = bridgeOptOps(name, o, was);
  const [forward] = ops;
  if (forward === undefined || ops.length > 1) throw new XbError('bug', `setBridge ${name}: a change that needs two lines goes through splitBridgeChange`);
  return step(forward);
};

/** The steps for a bridge option change, each valid forwards and backwards. */
export const splitBridgeChange = (name: string, o: BridgeOpts, was: BridgeOpts): Step[] => bridgeOptOps(name, o, was).map((op) => step(op));

export const addVeth = (name: string, o: { mac?: string; mtu?: number; peer: string; peerMac?: string; peerNetns?: string }): Step =>
  step({ kind: 'addVeth', dev: name, mac: o.mac, mtu: o.mtu, peer: o.peer, peerMac: o.peerMac, peerNetns: o.peerNetns });

export const addVlan = (name: string, o: { parent: string; id: number; mtu?: number; mac?: string }): Step =>
  step({ kind: 'addVlan', dev: name, parent: o.parent, id: o.id, mac: o.mac, mtu: o.mtu });

/** Deleting a VLAN device is undone by creating it again as it was (addresses have their own steps). */
export type BondOpts = Pick<BondSpec, 'mode' | 'miimon' | 'lacpRate' | 'xmitHashPolicy'>;

export const addBond = (name: string, o: BondOpts & { mac?: string; mtu?: number }): Step =>
  step({ kind: 'addBond', dev: name, mac: o.mac, mtu: o.mtu, bond: bondOpts(o) });

/** Changes the options in `o` (no mode: the kernel changes a bond's mode only without members). */
export const setBond = (name: string, o: Omit<BondOpts, 'mode'>, was: Omit<BondOpts, 'mode'>): Step =>
  step({ kind: 'setBond', dev: name, opts: bondOpts(o), was: bondOpts(was) });

export const delVlan = (l: Link): Step => {
  if (l.link === undefined || l.vlanId === undefined) throw new XbError('bug', `delVlan ${l.name}: not a VLAN device`);
  return step({ kind: 'delLink', dev: l.name, vlan: { parent: l.link, id: l.vlanId, mac: l.mac, mtu: l.mtu, master: l.master, up: l.up } });
};

export const delLink = (name: string): Step => step({ kind: 'delLink', dev: name });

export const setUp = (name: string, up: boolean): Step => step({ kind: 'setUp', dev: name, up });

export const setArp = (name: string, on: boolean): Step => step({ kind: 'setArp', dev: name, on });

export const setMaster = (name: string, master: string | undefined, was: string | undefined): Step => step({ kind: 'setMaster', dev: name, master, was });

export const setMtu = (name: string, mtu: number, was: number): Step => step({ kind: 'setMtu', dev: name, mtu, was });

export const setMac = (name: string, mac: string, was: string): Step => step({ kind: 'setMac', dev: name, mac, was });

/**
 * A MAC change on a link that is up. Drivers that cannot change it live (no IFF_LIVE_ADDR_CHANGE)
 * answer EBUSY, and then the link goes down for it and up again.
 */
export const setMacLive = (name: string, mac: string, was: string): Step =>
  ({ ...setMac(name, mac, was), busy: [setUp(name, false), setMac(name, mac, was), setUp(name, true)] });

/** IPv6 link-local address generation: none keeps a bridge port from carrying an fe80 address and running DAD on the wire. */
export const setAddrGenMode = (name: string, mode: AddrGenMode, was: AddrGenMode): Step => step({ kind: 'setAddrGenMode', dev: name, mode, was });

export const rename = (from: string, to: string): Step => step({ kind: 'rename', from, to });

export const addAddr = (a: Addr, dev: string): Step => step({ kind: 'addAddr', dev, addr: a });

export const delAddr = (a: Addr, dev: string): Step => step({ kind: 'delAddr', dev, addr: a });

export const addRoute = (r: Route, dev = r.dev): Step => step({ kind: 'addRoute', route: { ...r, dev } });

export const delRoute = (r: Route): Step => step({ kind: 'delRoute', route: r });

export const addVlanEntry = (e: VlanEntry): Step => step({ kind: 'addVlanEntry', entry: e });

export const delVlanEntry = (e: VlanEntry): Step => step({ kind: 'delVlanEntry', entry: e });

/** dir: where this scope keeps its client's files; metric: the moved lease's default route's, so renewals replace it. */
export const startDhcp = (dev: string, dir: string, metric?: number): Step => step({ kind: 'dhcpStart', dev, dir, metric });

export const stopDhcp = (dev: string, dir: string): Step => step({ kind: 'dhcpStop', dev, dir });

/** The DHCPv6 client: its own process and pid file beside the IPv4 one, the same DUID. */
export const startDhcp6 = (dev: string, dir: string): Step => step({ kind: 'dhcpStart', dev, dir, v6: true });

export const stopDhcp6 = (dev: string, dir: string): Step => step({ kind: 'dhcpStop', dev, dir, v6: true });

/** An IPv6 setting of dev (/proc/sys/net/ipv6/conf/dev/key), undone by writing back what it was. */
export const setSysctl = (dev: string, key: Ipv6ConfKey, value: number, was: number): Step => step({ kind: 'setSysctl', dev, key, value, was });

/** A leased address keeps its remaining lifetime where it moves: it expires when the lease does. */
export const addLease = (a: Addr, dev: string): Step => step({ kind: 'addLease', dev, addr: a });

export const delLease = (a: Addr, dev: string): Step => step({ kind: 'delLease', dev, addr: a });
