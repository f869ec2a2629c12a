/** Validation of one `bridges[]` entry into a BridgeSpec. */
import { shown } from '../errors.js';
import { defaultPeer, defaultUplinkPort, defaultVlanBridge, defaultVlanDevice, ifnameProblem, looksLikeVlanDevice } from '../model/ifname.js';
import { hostAddressProblem, inSubnet, ipFamily, IPV6_MIN_MTU, MAC_RE, normalizeMac, parseCidr, unicastMacProblem } from '../model/net.js';
import type { BridgeMode, BridgeSpec, Dom0Spec, VidRange, VlanSpec } from '../model/topology.js';
import { isObj, pathText, type Checker, type Obj } from './checker.js';
import type { Path } from './load.js';

const BRIDGE_KEYS = ['name', 'uplink', 'uplink-port', 'mode', 'mtu', 'stp', 'forward-delay', 'mac', 'dom0', 'vlans', 'vif-vlans', 'vif-antispoof', 'insecure-vif-all-tags'] as const;
const DOM0_KEYS = ['ifname', 'peer', 'addresses', 'gateway'] as const;
const VLAN_KEYS = ['id', 'bridge', 'device', 'addresses', 'gateway', 'probe', 'mtu'] as const;

export const MTU_MIN = 68;
export const MTU_MAX = 65535;

export const DHCP = 'dhcp';
export const SLAAC = 'slaac';
export const DHCP6 = 'dhcp6';
/** Words that stand for addresses dom0 gets from the network rather than from the file. */
const DYNAMIC = [DHCP, SLAAC, DHCP6];

/** `addresses: dhcp` (or slaac, dhcp6) is the one-item list `[dhcp]`. */
const addressList = (c: Checker, o: Obj, path: Path): unknown[] => {
  if (typeof o.addresses === 'string' && DYNAMIC.includes(o.addresses)) return [o.addresses];
  if (typeof o.addresses === 'string') {
    const at = [...path, 'addresses'];
    c.fail(at, `${pathText(at)}: ${shown(o.addresses)} is none of ${DYNAMIC.join(', ')} (lowercase); addresses with a prefix go in a list`);
    return [];
  }
  return c.list(o, 'addresses', path);
};

/** mtu: the MTU the link carrying the addresses will have, when the file sets one. */
const addresses = (c: Checker, o: Obj, path: Path, mtu?: number, dhcpOk = false): string[] =>
  addressList(c, o, path).flatMap((a, i) => {
    const at = [...path, 'addresses', ...(Array.isArray(o.addresses) ? [i] : [])];
    if (typeof a === 'string' && DYNAMIC.includes(a)) {
      if (!dhcpOk) c.fail(at, `${pathText(at)}: ${a} is for dom0.addresses only`);
      return dhcpOk ? [a] : [];
    }
    const cidr = typeof a === 'string' ? parseCidr(a) : undefined;
    if (!cidr) {
      c.fail(at, `${pathText(at)}: "${String(a)}" is not an address with a prefix length (e.g. 192.0.2.10/24 or 2001:db8::10/64)${dhcpOk ? ', nor dhcp, slaac or dhcp6' : ''}`);
      return [];
    }
    const why = hostAddressProblem(cidr)
      ?? (cidr.family === 6 && mtu !== undefined && mtu < IPV6_MIN_MTU ? `IPv6 needs an MTU of at least ${IPV6_MIN_MTU}; this link's is ${mtu}` : undefined);
    if (why) {
      c.fail(at, `${pathText(at)}: ${a}: ${why}`);
      return [];
    }
    return [`${cidr.address}/${cidr.prefix}`];
  });

const gateway = (c: Checker, o: Obj, path: Path, addrs: string[]): string | undefined => {
  const gw = c.str(o, 'gateway', path);
  if (gw === undefined) return undefined;
  const at = [...path, 'gateway'];
  if (ipFamily(gw) === 0) {
    c.fail(at, `${pathText(at)}: "${gw}" is not an IP address`);
    return undefined;
  }
  const sameFamily = addrs.map((a) => parseCidr(a)).filter((a) => a && a.family === ipFamily(gw));
  if (addrs.length > 0 && !sameFamily.some((a) => a && inSubnet(a, gw))) {
    c.fail(at, `${pathText(at)}: gateway ${gw} is outside every address's subnet (${addrs.join(', ')})`);
  }
  return gw;
};

const parseRange = (item: unknown): VidRange | undefined => {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(String(item));
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  return start >= 1 && end <= 4094 && start <= end ? { start, end } : undefined;
};

const vidRanges = (c: Checker, o: Obj, path: Path): VidRange[] =>
  c.list(o, 'vif-vlans', path).flatMap((item, i) => {
    const at = [...path, 'vif-vlans', i];
    if (typeof item === 'number' && !c.decimal(at, 'VLAN ID')) return [];
    const r = typeof item === 'number' || typeof item === 'string' ? parseRange(item) : undefined;
    if (!r) c.fail(at, `${pathText(at)}: "${String(item)}" is not a VLAN ID or range within 1-4094 (e.g. 100 or "100-199")`);
    return r ? [r] : [];
  });

const readDom0 = (c: Checker, b: Obj, path: Path, bridge: string, uplink: string | undefined, mtu?: number): Dom0Spec => {
  const at = [...path, 'dom0'];
  const raw = b.dom0 === undefined || b.dom0 === null ? {} : c.mapping(b.dom0, at, DOM0_KEYS) ?? {};
  const ifname = c.ifname(raw, 'ifname', at) ?? uplink ?? `${bridge}-h`.slice(0, 15);
  const peer = c.ifname(raw, 'peer', at) ?? defaultPeer(bridge);
  if (raw.peer === undefined && bridge !== '' && ifnameProblem(peer)) c.fail([...path, 'name'], `${pathText(path)}: the default veth peer name "${peer}" is too long; set dom0.peer`);
  const all = addresses(c, raw, at, mtu, true);
  const addrs = all.filter((a) => !DYNAMIC.includes(a));
  const gw = gateway(c, raw, at, addrs);
  const dhcp = all.includes(DHCP);
  const slaac = all.includes(SLAAC);
  const dhcp6 = all.includes(DHCP6);
  if (all.length > addrs.length) dynamicProblems(c, raw, at, all);
  if (dhcp) dhcpProblems(c, raw, at, all, gw);
  if (slaac || dhcp6) v6Problems(c, at, all, gw, mtu);
  return { ifname, peer, addresses: addrs, gateway: gw, dhcp, slaac, dhcp6 };
};

const itemPath = (raw: Obj, at: Path, i: number): Path => [...at, 'addresses', ...(Array.isArray(raw.addresses) ? [i] : [])];

const dynamicProblems = (c: Checker, raw: Obj, at: Path, all: string[]): void =>
  all.forEach((a, i) => {
    if (DYNAMIC.includes(a) && all.indexOf(a) !== i) c.fail(itemPath(raw, at, i), `${pathText(itemPath(raw, at, i))}: ${a} is listed twice`);
  });

/** Routers' advertisements give the IPv6 default route (DHCPv6 gives none); IPv6 needs an MTU of 1280. */
const v6Problems = (c: Checker, at: Path, all: string[], gw: string | undefined, mtu?: number): void => {
  const what = all.filter((a) => a === SLAAC || a === DHCP6).join(' and ');
  if (gw !== undefined && ipFamily(gw) === 6) c.fail([...at, 'gateway'], `${pathText([...at, 'gateway'])}: ${gw}: with ${what} the routers' advertisements give the IPv6 default route; remove gateway`);
  if (mtu !== undefined && mtu < IPV6_MIN_MTU) c.fail([...at, 'addresses'], `${pathText([...at, 'addresses'])}: ${what} needs IPv6, which needs an MTU of at least ${IPV6_MIN_MTU}; this bridge's is ${mtu}`);
};

/** dhcp gives dom0 its IPv4 address, prefix and default route; static IPv6 may sit beside it. */
const dhcpProblems = (c: Checker, raw: Obj, at: Path, all: string[], gw: string | undefined): void => {
  const item = (i: number): Path => itemPath(raw, at, i);
  all.forEach((a, i) => {
    if (!DYNAMIC.includes(a) && ipFamily(a.split('/')[0] ?? '') === 4) {
      c.fail(item(i), `${pathText(item(i))}: ${a} is a static IPv4 address beside dhcp; the DHCP server gives dom0 its IPv4 address (list only IPv6 addresses with dhcp)`);
    }
  });
  if (gw !== undefined && ipFamily(gw) === 4) c.fail([...at, 'gateway'], `${pathText([...at, 'gateway'])}: ${gw}: with dhcp the DHCP server gives the IPv4 default route; remove gateway`);
};

const readVlan = (c: Checker, v: unknown, path: Path, bridge: string, mode: BridgeMode, dom0If: string, parentMtu?: number): VlanSpec | undefined => {
  const o = c.mapping(v, path, VLAN_KEYS);
  if (!o) return undefined;
  const id = c.int(o, 'id', path, 1, 4094, 'VLAN ID', true);
  if (id === undefined) return undefined;
  if (mode === 'filtering' && id === 1) c.fail([...path, 'id'], `${pathText(path)}: VLAN 1 is the bridge's untagged native VLAN in filtering mode; use another ID`);
  if (mode === 'filtering' && o.bridge !== undefined) c.fail([...path, 'bridge'], `${pathText(path)}: per-VLAN bridges exist only in mode: classic`, true);
  const vbr = mode === 'classic' ? c.ifname(o, 'bridge', path) ?? defaultVlanBridge(bridge, id) : undefined;
  const device = c.ifname(o, 'device', path) ?? defaultVlanDevice(dom0If, id);
  if (o.device === undefined && ifnameProblem(device)) c.fail([...path, 'id'], `${pathText(path)}: the default VLAN device name "${device}" is too long; set device`);
  if (vbr !== undefined && o.bridge === undefined && ifnameProblem(vbr)) c.fail([...path, 'id'], `${pathText(path)}: the default per-VLAN bridge name "${vbr}" is too long; set bridge`);
  const mtu = c.int(o, 'mtu', path, MTU_MIN, MTU_MAX, 'MTU');
  if (mtu !== undefined && parentMtu !== undefined && mtu > parentMtu) {
    c.fail([...path, 'mtu'], `${pathText(path)}: VLAN MTU ${mtu} is larger than its parent's MTU ${parentMtu}`);
  }
  const addrs = addresses(c, o, path, mtu ?? parentMtu);
  const probe = c.str(o, 'probe', path);
  if (probe !== undefined && ipFamily(probe) === 0) c.fail([...path, 'probe'], `${pathText(path)}.probe: "${probe}" is not an IP address`);
  return { id, bridge: vbr, device, addresses: addrs, gateway: gateway(c, o, path, addrs), probe, mtu };
};

export const readBridge = (c: Checker, raw: unknown, path: Path): BridgeSpec | undefined => {
  const b = c.mapping(raw, path, BRIDGE_KEYS);
  if (!b) return undefined;
  const name = c.ifname(b, 'name', path, true) ?? '';
  const uplink = c.ifname(b, 'uplink', path);
  if (uplink !== undefined && looksLikeVlanDevice(uplink)) {
    c.fail([...path, 'uplink'], `${pathText(path)}.uplink: "${uplink}" is a VLAN device; a VLAN device must never be a bridge port (its VID's frames would bypass the bridge). Make the NIC the uplink and list the VLAN under vlans`);
  }
  const modeRaw = c.str(b, 'mode', path) ?? 'classic';
  if (modeRaw !== 'classic' && modeRaw !== 'filtering') c.fail([...path, 'mode'], `${pathText(path)}.mode must be classic or filtering, got "${modeRaw}"`);
  const mode: BridgeMode = modeRaw === 'filtering' ? 'filtering' : 'classic';
  const mtu = c.int(b, 'mtu', path, MTU_MIN, MTU_MAX, 'MTU');
  const stp = c.bool(b, 'stp', path, false);
  const forwardDelay = c.int(b, 'forward-delay', path, stp ? 2 : 0, 30, 'forward delay (seconds)') ?? (stp ? 15 : 0);
  const macRaw = c.str(b, 'mac', path);
  if (macRaw !== undefined && !MAC_RE.test(macRaw.toLowerCase())) c.fail([...path, 'mac'], `${pathText(path)}.mac: "${macRaw}" is not a MAC address`);
  else if (macRaw !== undefined && unicastMacProblem(macRaw.toLowerCase())) c.fail([...path, 'mac'], `${pathText(path)}.mac: ${macRaw}: ${unicastMacProblem(macRaw.toLowerCase())}`);
  const dom0 = readDom0(c, b, path, name, uplink, mtu);
  const portDefault = uplink !== undefined && dom0.ifname === uplink ? defaultUplinkPort(uplink) : uplink;
  const uplinkPort = uplink === undefined ? undefined : c.ifname(b, 'uplink-port', path) ?? portDefault;
  if (uplink !== undefined && b['uplink-port'] === undefined && uplinkPort !== undefined && ifnameProblem(uplinkPort)) {
    c.fail([...path, 'uplink'], `${pathText(path)}: the renamed NIC "${uplinkPort}" would be too long; set uplink-port`);
  }
  if (uplink === undefined && b['uplink-port'] !== undefined) c.fail([...path, 'uplink-port'], `${pathText(path)}: uplink-port needs uplink`, true);
  const vlans = c.list(b, 'vlans', path).flatMap((v, i) => readVlan(c, v, [...path, 'vlans', i], name, mode, dom0.ifname, mtu) ?? []);
  const seen = new Map<number, number>();
  vlans.forEach((v, i) => {
    const first = seen.get(v.id);
    if (first !== undefined) c.fail([...path, 'vlans', i, 'id'], `${pathText(path)}: VLAN ${v.id} is listed twice (also vlans[${first}])`);
    else seen.set(v.id, i);
  });
  const where: Record<string, string> = { name: c.where([...path, 'name']), self: c.where(path) };
  if (uplink !== undefined) where.uplink = c.where([...path, 'uplink']);
  if (isObj(b.dom0)) where.dom0 = c.where([...path, 'dom0']);
  return {
    name, uplink, uplinkPort, mode, mtu, stp, forwardDelay,
    mac: macRaw === undefined ? undefined : normalizeMac(macRaw),
    dom0, vlans, vifVlans: vidRanges(c, b, path), where,
    vifAntispoof: c.bool(b, 'vif-antispoof', path, true),
    insecureVifAllTags: c.bool(b, 'insecure-vif-all-tags', path, false),
  };
};
