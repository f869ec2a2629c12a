/**
 * Kernel operations as batch lines, each built together with the lines that undo it, from the state
 * it changes. Pure: nothing here runs.
 */
import { XbError } from '../errors.js';
import type { Tool } from '../exec/runner.js';
import type { Addr, Link, Route, VlanEntry } from '../state/types.js';

export interface Line {
  tool: Tool;
  line: string;
}

export interface Step extends Line {
  undo: Line[];
  /** Set by crash recovery: whether this step ran is unknown, so its undo may fail harmlessly. */
  uncertain?: true;
  /** Run in its place when the kernel refuses it as busy (EBUSY); never recorded. */
  busy?: Step[];
}

const ip = (line: string): Line => ({ tool: 'ip', line });
const br = (line: string): Line => ({ tool: 'bridge', line });
const step = (forward: Line, ...undo: Line[]): Step => ({ ...forward, undo });

export interface BridgeOpts {
  stp: boolean;
  /** Centiseconds. */
  forwardDelay: number;
  vlanFiltering: boolean;
}

/** vlan_filtering is only ever written when it changes: kernels without 802.1Q reject even "0". */
const bridgeArgs = (o: BridgeOpts, was?: BridgeOpts): string =>
  [
    was === undefined || was.stp !== o.stp ? `stp_state ${o.stp ? 1 : 0}` : '',
    was === undefined || was.forwardDelay !== o.forwardDelay ? `forward_delay ${o.forwardDelay}` : '',
    (was === undefined && o.vlanFiltering) || (was !== undefined && was.vlanFiltering !== o.vlanFiltering) ? `vlan_filtering ${o.vlanFiltering ? 1 : 0}` : '',
  ].filter((x) => x !== '').join(' ');

const opt = (key: string, v: string | number | undefined): string => (v === undefined ? '' : ` ${key} ${v}`);

export const addBridge = (name: string, o: BridgeOpts & { mac?: string; mtu?: number }): Step =>
  step(ip(`link add name ${name}${opt('address', o.mac)}${opt('mtu', o.mtu)} type bridge ${bridgeArgs(o)}`), ip(`link del dev ${name}`));

/** While STP is on the kernel accepts forward delays of 200..3000 cs only (BR_MIN/MAX_FORWARD_DELAY). */
export const stpDelayOk = (cs: number): boolean => cs >= 200 && cs <= 3000;

/**
 * The kernel applies forward_delay before stp_state within one message, so a line that turns STP on
 * is valid with any delay; one that turns it off while setting a delay STP forbids is not, and is
 * written as two lines: STP off, then the delay.
 */
const bridgeLines = (name: string, o: BridgeOpts, was: BridgeOpts): Line[] =>
  was.stp && !o.stp && was.forwardDelay !== o.forwardDelay && !stpDelayOk(o.forwardDelay)
    ? [ip(`link set dev ${name} type bridge ${bridgeArgs({ ...was, stp: false }, was)}`), ip(`link set dev ${name} type bridge ${bridgeArgs(o, { ...was, stp: false })}`)]
    : [ip(`link set dev ${name} type bridge ${bridgeArgs(o, was)}`)];

/** A change that turns STP off under a delay it forbids is planned as two steps (see bridgeLines). */
export const setBridge = (name: string, o: BridgeOpts, was: BridgeOpts): Step => {
  const [forward] = bridgeLines(name, o, was);
  if (forward === undefined || bridgeLines(name, o, was).length > 1) throw new XbError('bug', `setBridge ${name}: a change that needs two lines goes through splitBridgeChange`);
  return step(forward, ...bridgeLines(name, was, o));
};

/** The steps for a bridge option change, each valid forwards and backwards. */
export const splitBridgeChange = (name: string, o: BridgeOpts, was: BridgeOpts): Step[] => {
  if (bridgeLines(name, o, was).length === 1) return [setBridge(name, o, was)];
  const off = { ...was, stp: false };
  return [setBridge(name, off, was), setBridge(name, o, off)];
};

export const addVeth = (name: string, o: { mac?: string; mtu?: number; peer: string; peerMac?: string }): Step =>
  step(
    ip(`link add name ${name}${opt('address', o.mac)}${opt('mtu', o.mtu)} type veth peer name ${o.peer}${opt('address', o.peerMac)}${opt('mtu', o.mtu)}`),
    ip(`link del dev ${name}`),
  );

export const addVlan = (name: string, o: { parent: string; id: number; mtu?: number; mac?: string }): Step =>
  step(ip(`link add link ${o.parent} name ${name}${opt('address', o.mac)}${opt('mtu', o.mtu)} type vlan id ${o.id}`), ip(`link del dev ${name}`));

/** Deleting a VLAN device is undone by creating it again as it was (addresses have their own steps). */
export const delVlan = (l: Link): Step => {
  const again: Line[] = [ip(`link add link ${l.link} name ${l.name} address ${l.mac} mtu ${l.mtu} type vlan id ${l.vlanId}`)];
  if (l.master) again.push(ip(`link set dev ${l.name} master ${l.master}`));
  if (l.up) again.push(ip(`link set dev ${l.name} up`));
  return step(ip(`link del dev ${l.name}`), ...again);
};

export const delLink = (name: string): Step => step(ip(`link del dev ${name}`));

export const setUp = (name: string, up: boolean): Step =>
  step(ip(`link set dev ${name} ${up ? 'up' : 'down'}`), ip(`link set dev ${name} ${up ? 'down' : 'up'}`));

export const setArp = (name: string, on: boolean): Step =>
  step(ip(`link set dev ${name} arp ${on ? 'on' : 'off'}`), ip(`link set dev ${name} arp ${on ? 'off' : 'on'}`));

export const setMaster = (name: string, master: string | undefined, was: string | undefined): Step =>
  step(ip(`link set dev ${name} ${master ? `master ${master}` : 'nomaster'}`), ip(`link set dev ${name} ${was ? `master ${was}` : 'nomaster'}`));

export const setMtu = (name: string, mtu: number, was: number): Step =>
  step(ip(`link set dev ${name} mtu ${mtu}`), ip(`link set dev ${name} mtu ${was}`));

export const setMac = (name: string, mac: string, was: string): Step =>
  step(ip(`link set dev ${name} address ${mac}`), ip(`link set dev ${name} address ${was}`));

/**
 * A MAC change on a link that is up. Drivers that cannot change it live (no IFF_LIVE_ADDR_CHANGE)
 * answer EBUSY, and then the link goes down for it and up again.
 */
export const setMacLive = (name: string, mac: string, was: string): Step =>
  ({ ...setMac(name, mac, was), busy: [setUp(name, false), setMac(name, mac, was), setUp(name, true)] });

/** IPv6 link-local address generation: none keeps a bridge port from carrying an fe80 address and running DAD on the wire. */
export const setAddrGenMode = (name: string, mode: string, was: string): Step =>
  step(ip(`link set dev ${name} addrgenmode ${mode}`), ip(`link set dev ${name} addrgenmode ${was}`));

export const rename = (from: string, to: string): Step =>
  step(ip(`link set dev ${from} name ${to}`), ip(`link set dev ${to} name ${from}`));

export const addrSpec = (a: Addr, dev: string): string => {
  const label = a.label !== undefined && a.label !== dev && a.label.startsWith(`${dev}:`) ? ` label ${a.label}` : '';
  const scope = a.scope !== 'global' && !(a.family === 6 && a.scope === 'link') ? ` scope ${a.scope}` : '';
  const flags = a.flags.length > 0 ? ` ${a.flags.join(' ')}` : '';
  return `${a.local}/${a.prefixlen}${opt('brd', a.family === 4 ? a.broadcast : undefined)}${scope}${label}${flags} dev ${dev}`;
};

export const addAddr = (a: Addr, dev: string): Step =>
  step(ip(`addr add ${addrSpec(a, dev)}`), ip(`addr del ${a.local}/${a.prefixlen} dev ${dev}`));

export const delAddr = (a: Addr, dev: string): Step =>
  step(ip(`addr del ${a.local}/${a.prefixlen} dev ${dev}`), ip(`addr add ${addrSpec(a, dev)}`));

/** `default` alone means IPv4 to ip; an IPv6 default route is written ::/0. */
const routeDst = (r: Route): string => (r.dst === 'default' && r.family === 6 ? '::/0' : r.dst);

export const routeSpec = (r: Route, dev = r.dev): string =>
  `${routeDst(r)}${opt('via', r.gateway)}${opt('dev', dev)}${opt('proto', r.protocol === 'boot' ? undefined : r.protocol)}` +
  `${opt('scope', r.scope === 'global' || r.scope === undefined ? undefined : r.scope)}${opt('metric', r.metric)}${opt('src', r.prefsrc)}${r.onlink ? ' onlink' : ''}`;

export const addRoute = (r: Route, dev = r.dev): Step =>
  step(ip(`route add ${routeSpec(r, dev)}`), ip(`route del ${routeSpec(r, dev)}`));

export const delRoute = (r: Route): Step => step(ip(`route del ${routeSpec(r)}`), ip(`route add ${routeSpec(r)}`));

const vlanFlags = (e: Pick<VlanEntry, 'pvid' | 'untagged'>): string => `${e.pvid ? ' pvid' : ''}${e.untagged ? ' untagged' : ''}`;
const vidText = (e: Pick<VlanEntry, 'vid' | 'vidEnd'>): string => (e.vidEnd !== undefined && e.vidEnd !== e.vid ? `${e.vid}-${e.vidEnd}` : `${e.vid}`);

export const addVlanEntry = (e: VlanEntry): Step =>
  step(br(`vlan add dev ${e.dev} vid ${vidText(e)}${vlanFlags(e)}`), br(`vlan del dev ${e.dev} vid ${vidText(e)}`));

export const delVlanEntry = (e: VlanEntry): Step =>
  step(br(`vlan del dev ${e.dev} vid ${vidText(e)}`), br(`vlan add dev ${e.dev} vid ${vidText(e)}${vlanFlags(e)}`));
