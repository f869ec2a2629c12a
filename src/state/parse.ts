/** Pure parsers: `ip -j -d link show`, `ip -j addr showdump`, `ip -j route show`, `bridge -j vlan show` -> HostState parts. */
import type { Addr, Link, LinkKind, Route, VlanEntry } from './types.js';

type J = Record<string, unknown>;
const obj = (v: unknown): J => (typeof v === 'object' && v !== null ? (v as J) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

const ADDR_FLAGS = ['noprefixroute', 'nodad', 'home', 'mngtmpaddr', 'optimistic', 'autojoin'] as const;

const parseAddr = (a: J): Addr | undefined => {
  const family = a.family === 'inet' ? 4 : a.family === 'inet6' ? 6 : undefined;
  const local = str(a.local);
  const prefixlen = num(a.prefixlen);
  if (!family || !local || prefixlen === undefined) return undefined;
  const scope = str(a.scope) ?? 'global';
  const dynamic = a.dynamic === true || (num(a.valid_life_time) ?? 0xffffffff) !== 0xffffffff;
  return {
    family, local, prefixlen, scope,
    broadcast: str(a.broadcast),
    label: str(a.label),
    flags: ADDR_FLAGS.filter((f) => a[f] === true),
    managed: scope === 'link' && family === 6 ? true : dynamic,
    ...(dynamic ? { validLft: num(a.valid_life_time), preferredLft: num(a.preferred_life_time) } : {}),
  };
};

const kindOf = (info: J, linkType: string | undefined): LinkKind => {
  const k = str(info.info_kind);
  if (k === 'bridge' || k === 'veth' || k === 'vlan' || k === 'bond') return k;
  if (k !== undefined) return 'other';
  if (linkType === 'loopback') return 'loopback';
  return linkType === 'ether' ? 'device' : 'other';
};

const UP = 1;
const NOARP = 2;
const NO_CARRIER = 4;
const FLAG_BITS: Record<string, number> = { UP, NOARP, 'NO-CARRIER': NO_CARRIER };

/** The link flags planning uses, as bits: one pass, no array per link (thousands of links per read). */
const linkFlags = (v: unknown): number => {
  let bits = 0;
  if (!Array.isArray(v)) return bits;
  for (const f of v) if (typeof f === 'string' && Object.hasOwn(FLAG_BITS, f)) bits |= FLAG_BITS[f] ?? 0;
  return bits;
};

export const parseLinks = (json: unknown): Link[] =>
  (Array.isArray(json) ? json : []).map((raw) => {
    const l = obj(raw);
    const info = obj(l.linkinfo);
    const data = obj(info.info_data);
    const kind = kindOf(info, str(l.link_type));
    const flags = linkFlags(l.flags);
    const link: Link = {
      ifindex: num(l.ifindex) ?? 0,
      name: str(l.ifname) ?? '',
      kind,
      kindName: str(info.info_kind) ?? (kind === 'device' ? 'device' : kind),
      up: (flags & UP) !== 0,
      noarp: (flags & NOARP) !== 0,
      operstate: str(l.operstate) ?? 'UNKNOWN',
      carrier: (flags & NO_CARRIER) === 0,
      mtu: num(l.mtu) ?? 0,
      mac: str(l.address) ?? '',
      permaddr: str(l.permaddr),
      master: str(l.master),
      link: str(l.link),
      peerElsewhere: kind === 'veth' && l.link_netnsid !== undefined,
      parentbus: str(l.parentbus),
      parentdev: str(l.parentdev),
      addrGenMode: str(l.inet6_addr_gen_mode),
      addrs: l.addr_info === undefined ? [] : parseAddrs(l.addr_info),
    };
    if (kind === 'vlan') link.vlanId = num(data.id);
    if (kind === 'bridge') {
      link.bridge = { stp: (num(data.stp_state) ?? 0) !== 0, forwardDelay: num(data.forward_delay) ?? 0, vlanFiltering: (num(data.vlan_filtering) ?? 0) !== 0 };
    }
    if (kind === 'bond') {
      const ad = obj(data.ad_info);
      link.bond = { mode: str(data.mode) ?? '', miimon: num(data.miimon) ?? 0, lacpRate: str(data.ad_lacp_rate) ?? str(data.lacp_rate), xmitHashPolicy: str(data.xmit_hash_policy), partnerMac: str(ad.partner_mac) };
    }
    const slave = obj(info.info_slave_data);
    if (info.info_slave_kind === 'bridge') {
      link.portState = str(slave.state);
      link.portGuarded = slave.guard === true && slave.root_block === true;
      const mask = Number(str(slave.group_fwd_mask) ?? num(slave.group_fwd_mask) ?? 0);
      link.portFwdMask = Number.isInteger(mask) ? mask : 0;
    }
    if (info.info_slave_kind === 'bond') {
      link.bondSlave = { state: str(slave.state) ?? '', miiStatus: str(slave.mii_status) ?? '', partnerState: num(slave.ad_partner_oper_port_state) };
      // The bond gave the member its own MAC; the member's own is kept here (veths have no permaddr).
      link.permaddr ??= str(slave.perm_hwaddr);
    }
    return link;
  });

const parseAddrs = (v: unknown): Link['addrs'] => (Array.isArray(v) ? v : []).flatMap((a) => parseAddr(obj(a)) ?? []);

/**
 * The addresses of `ip addr save | ip -j addr showdump` (every address, each with its link's
 * "index") on the links of `ip -j -d link show`, matched by ifindex, in the kernel's order as
 * `ip addr show` lists them. A link that came between the two reads has none; one that went is not
 * in the links.
 */
export const withAddrs = (links: Link[], addrDump: unknown): Link[] => {
  const byIndex = new Map<number, Link['addrs']>();
  for (const group of Array.isArray(addrDump) ? addrDump : []) {
    for (const raw of Array.isArray(obj(group).addr_info) ? (obj(group).addr_info as unknown[]) : []) {
      const a = obj(raw);
      const index = num(a.index);
      const addr = index === undefined ? undefined : parseAddr(a);
      if (index === undefined || addr === undefined) continue;
      const list = byIndex.get(index);
      if (list) list.push(addr);
      else byIndex.set(index, [addr]);
    }
  }
  for (const l of links) l.addrs = byIndex.get(l.ifindex) ?? [];
  return links;
};

export const parseRoutes = (json: unknown, family: 4 | 6): Route[] =>
  (Array.isArray(json) ? json : []).flatMap((raw) => {
    const r = obj(raw);
    const table = str(r.table) ?? 'main';
    const type = str(r.type) ?? 'unicast';
    if (table !== 'main' || type !== 'unicast') return [];
    return [{
      family,
      dst: str(r.dst) ?? 'default',
      gateway: str(r.gateway),
      dev: str(r.dev),
      protocol: str(r.protocol),
      scope: str(r.scope),
      metric: num(r.metric),
      prefsrc: str(r.prefsrc),
      onlink: strs(r.flags).includes('onlink'),
    }];
  });

export const parseBridgeVlans = (json: unknown): VlanEntry[] =>
  (Array.isArray(json) ? json : []).flatMap((raw) => {
    const p = obj(raw);
    const dev = str(p.ifname) ?? '';
    return (Array.isArray(p.vlans) ? p.vlans : []).map((v) => {
      const e = obj(v);
      const flags = strs(e.flags);
      const entry: VlanEntry = { dev, vid: num(e.vlan) ?? 0, pvid: flags.includes('PVID'), untagged: flags.includes('Egress Untagged') };
      const end = num(e.vlanEnd);
      if (end !== undefined) entry.vidEnd = end;
      return entry;
    });
  });
