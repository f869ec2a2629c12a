/**
 * Ops as the lines `ip -batch`, `bridge -batch` and `nft -f` read: the one place a batch line is
 * written. Plan text, `--format sh`, the journal's batches and undo all render through here.
 */
import type { Tool } from '../exec/runner.js';
import { bondArgs } from '../model/bond.js';
import type { Addr, Route, VlanEntry } from '../state/types.js';
import { guardCommands, unguardCommands } from './guard.js';
import type { BridgeOpts, DhcpOp, GuardOp, LineOp, Op, SysctlOp, VlanEntryOp } from './ops.js';

export interface Line {
  tool: Tool;
  line: string;
}

const opt = (key: string, v: string | number | undefined): string => (v === undefined ? '' : ` ${key} ${v}`);

/** vlan_filtering is only ever written when it changes: kernels without 802.1Q reject even "0". */
const bridgeArgs = (o: BridgeOpts, was?: BridgeOpts): string =>
  [
    was === undefined || was.stp !== o.stp ? `stp_state ${o.stp ? 1 : 0}` : '',
    was === undefined || was.forwardDelay !== o.forwardDelay ? `forward_delay ${o.forwardDelay}` : '',
    (was === undefined && o.vlanFiltering) || (was !== undefined && was.vlanFiltering !== o.vlanFiltering) ? `vlan_filtering ${o.vlanFiltering ? 1 : 0}` : '',
  ].filter((x) => x !== '').join(' ');

export const addrSpec = (a: Addr, dev: string): string => {
  const label = a.label !== undefined && a.label !== dev && a.label.startsWith(`${dev}:`) ? ` label ${a.label}` : '';
  const scope = a.scope !== 'global' && !(a.family === 6 && a.scope === 'link') ? ` scope ${a.scope}` : '';
  const flags = a.flags.length > 0 ? ` ${a.flags.join(' ')}` : '';
  return `${a.local}/${a.prefixlen}${opt('brd', a.family === 4 ? a.broadcast : undefined)}${scope}${label}${flags} dev ${dev}`;
};

/** `default` alone means IPv4 to ip; an IPv6 default route is written ::/0. */
const routeDst = (r: Route): string => (r.dst === 'default' && r.family === 6 ? '::/0' : r.dst);

export const routeSpec = (r: Route): string =>
  `${routeDst(r)}${opt('via', r.gateway)}${opt('dev', r.dev)}${opt('proto', r.protocol === 'boot' ? undefined : r.protocol)}` +
  `${opt('scope', r.scope === 'global' || r.scope === undefined ? undefined : r.scope)}${opt('metric', r.metric)}${opt('src', r.prefsrc)}${r.onlink ? ' onlink' : ''}`;

const vlanFlags = (e: VlanEntry): string => `${e.pvid ? ' pvid' : ''}${e.untagged ? ' untagged' : ''}`;
const vidText = (e: VlanEntry): string => (e.vidEnd !== undefined && e.vidEnd !== e.vid ? `${e.vid}-${e.vidEnd}` : `${e.vid}`);

type IpOp = Exclude<Op, VlanEntryOp | GuardOp | DhcpOp | SysctlOp | LineOp>;

/** A leased address keeps its remaining lifetime where it moves: it expires when the lease does. */
const leaseSpec = (a: Addr, dev: string): string => `${addrSpec(a, dev)} valid_lft ${a.validLft ?? 'forever'} preferred_lft ${a.preferredLft ?? 'forever'}`;

const ipLine = (op: IpOp): string => {
  switch (op.kind) {
    case 'addBridge':
      return `link add name ${op.dev}${opt('address', op.mac)}${opt('mtu', op.mtu)} type bridge ${bridgeArgs(op.opts)}`;
    case 'addVeth':
      return `link add name ${op.dev}${opt('address', op.mac)}${opt('mtu', op.mtu)} type veth peer name ${op.peer}${opt('address', op.peerMac)}${opt('mtu', op.mtu)}${opt('netns', op.peerNetns)}`;
    case 'addVlan':
      return `link add link ${op.parent} name ${op.dev}${opt('address', op.mac)}${opt('mtu', op.mtu)} type vlan id ${op.id}`;
    case 'addBond':
      return `link add name ${op.dev}${opt('address', op.mac)}${opt('mtu', op.mtu)} type bond ${bondArgs(op.bond)}`;
    case 'setBond':
      return `link set dev ${op.dev} type bond ${bondArgs(op.opts)}`;
    case 'delLink':
      return `link del dev ${op.dev}`;
    case 'rename':
      return `link set dev ${op.from} name ${op.to}`;
    case 'setUp':
      return `link set dev ${op.dev} ${op.up ? 'up' : 'down'}`;
    case 'setArp':
      return `link set dev ${op.dev} arp ${op.on ? 'on' : 'off'}`;
    case 'setMaster':
      return `link set dev ${op.dev} ${op.master ? `master ${op.master}` : 'nomaster'}`;
    case 'setMtu':
      return `link set dev ${op.dev} mtu ${op.mtu}`;
    case 'setMac':
      return `link set dev ${op.dev} address ${op.mac}`;
    case 'setAddrGenMode':
      return `link set dev ${op.dev} addrgenmode ${op.mode}`;
    case 'setBridgeOpts':
      return `link set dev ${op.dev} type bridge ${bridgeArgs(op.opts, op.was)}`;
    case 'addAddr':
      return `addr add ${addrSpec(op.addr, op.dev)}`;
    case 'delAddr':
    case 'delLease':
      return `addr del ${op.addr.local}/${op.addr.prefixlen} dev ${op.dev}`;
    case 'addLease':
      // An IPv6 one may already be there: dom0's interface, up with the NIC's MAC, can have made it by SLAAC.
      return `addr ${op.addr.family === 6 ? 'replace' : 'add'} ${leaseSpec(op.addr, op.dev)}`;
    case 'addRoute':
      return `route add ${routeSpec(op.route)}`;
    case 'delRoute':
      return `route del ${routeSpec(op.route)}`;
    case 'addNetns':
      return `netns add ${op.name}`;
    case 'delNetns':
      return `netns del ${op.name}`;
  }
};

export const render = (op: Op): Line => {
  switch (op.kind) {
    case 'addVlanEntry':
      return { tool: 'bridge', line: `vlan add dev ${op.entry.dev} vid ${vidText(op.entry)}${vlanFlags(op.entry)}` };
    case 'delVlanEntry':
      return { tool: 'bridge', line: `vlan del dev ${op.entry.dev} vid ${vidText(op.entry)}` };
    case 'guard':
      return { tool: 'nft', line: guardCommands(op.guard, op.shared === true).join('; ') };
    case 'unguard':
      return { tool: 'nft', line: unguardCommands(op.dev).join('; ') };
    case 'dhcpStart':
      return { tool: 'dhcp', line: `start${op.v6 ? '6' : ''} ${op.dev} ${op.dir} ${op.metric ?? '-'}` };
    case 'dhcpStop':
      return { tool: 'dhcp', line: `stop${op.v6 ? '6' : ''} ${op.dev} ${op.dir}` };
    case 'setSysctl':
      return { tool: 'sysctl', line: `set ${op.dev} ${op.key} ${op.value}` };
    case 'line':
      return { tool: op.tool, line: op.line };
    default:
      return { tool: 'ip', line: ipLine(op) };
  }
};

/** Without rendering: batches are grouped by tool on every run, and a guard's nft text is long. */
export const toolOf = (op: Op): Tool => {
  switch (op.kind) {
    case 'line':
      return op.tool;
    case 'addVlanEntry':
    case 'delVlanEntry':
      return 'bridge';
    case 'guard':
    case 'unguard':
      return 'nft';
    case 'dhcpStart':
    case 'dhcpStop':
      return 'dhcp';
    case 'setSysctl':
      return 'sysctl';
    default:
      return 'ip';
  }
};

/** "ip link set dev eth0 up": an op as a command, for plans and messages. */
export const opText = (op: Op): string => {
  const l = render(op);
  return `${l.tool} ${l.line}`;
};
