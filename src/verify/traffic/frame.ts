/**
 * Ethernet frames as captured: 802.1Q/802.1ad tags (libpcap re-inserts the tags that the kernel
 * keeps out of band, so they appear in the bytes), ARP and IPv4/ICMP. Anything shorter than the
 * header it claims to hold is decoded only as far as its bytes go. IPv6 is decoded as far as an
 * ICMPv6 header that follows the fixed header directly (the probes carry no extension header).
 */

export interface Arp {
  op: number;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
}

export interface Icmp {
  type: number;
  code: number;
  id: number;
  seq: number;
  /** The echo data, as far as the snapshot length kept it. */
  payload: Buffer;
}

export interface Ipv4 {
  src: string;
  dst: string;
  proto: number;
  df: boolean;
  totalLength: number;
  icmp?: Icmp;
}

export interface Ipv6 {
  src: string;
  dst: string;
  next: number;
  /** Bytes after the fixed header, as the header says. */
  payloadLength: number;
  icmp?: Icmp;
}

export interface Frame {
  dst: string;
  src: string;
  /** VLAN IDs, outermost first; empty when untagged. */
  vids: number[];
  /** The ethertype after the tags. */
  ethertype: number;
  /** Bytes on the wire, tags included. */
  length: number;
  /** The captured bytes after the tags: the same frame on another hop has the same body, whatever its tag there. */
  body: Buffer;
  arp?: Arp;
  ipv4?: Ipv4;
  ipv6?: Ipv6;
}

export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;
const IPPROTO_ICMPV6 = 58;
const IPV6_HEADER = 40;
const TAG_TYPES = new Set([0x8100, 0x88a8, 0x9100]);
const MAX_TAGS = 4;

export const BROADCAST = 'ff:ff:ff:ff:ff:ff';

const mac = (b: Buffer, at: number): string => [...b.subarray(at, at + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
const ip4 = (b: Buffer, at: number): string => [...b.subarray(at, at + 4)].join('.');

const decodeArp = (b: Buffer): Arp | undefined => {
  // Ethernet/IPv4 ARP only: hardware type 1, protocol 0x0800, address lengths 6 and 4.
  if (b.length < 28 || b.readUInt16BE(0) !== 1 || b.readUInt16BE(2) !== ETH_P_IP || b[4] !== 6 || b[5] !== 4) return undefined;
  return { op: b.readUInt16BE(6), sha: mac(b, 8), spa: ip4(b, 14), tha: mac(b, 18), tpa: ip4(b, 24) };
};

const decodeIcmp = (b: Buffer): Icmp | undefined => {
  if (b.length < 8) return undefined;
  return { type: b[0] ?? 0, code: b[1] ?? 0, id: b.readUInt16BE(4), seq: b.readUInt16BE(6), payload: b.subarray(8) };
};

const decodeIpv4 = (b: Buffer): Ipv4 | undefined => {
  if (b.length < 20 || (b[0] ?? 0) >> 4 !== 4) return undefined;
  const ihl = ((b[0] ?? 0) & 0x0f) * 4;
  if (ihl < 20 || b.length < ihl) return undefined;
  const ip: Ipv4 = {
    src: ip4(b, 12),
    dst: ip4(b, 16),
    proto: b[9] ?? 0,
    df: (b.readUInt16BE(6) & 0x4000) !== 0,
    totalLength: b.readUInt16BE(2),
  };
  // Only a first fragment carries the ICMP header.
  const fragOffset = b.readUInt16BE(6) & 0x1fff;
  if (ip.proto === 1 && fragOffset === 0) {
    const end = Math.min(b.length, Math.max(ihl, ip.totalLength));
    ip.icmp = decodeIcmp(b.subarray(ihl, end));
  }
  return ip;
};

/** RFC 5952's short form: lower case, the longest run of two or more zero groups as "::". */
export const ip6 = (b: Buffer, at: number): string => {
  const g = [...Array(8).keys()].map((i) => b.readUInt16BE(at + i * 2));
  let best = -1;
  let len = 1;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > len) [best, len] = [i, j - i];
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + len))}`;
};

const decodeIpv6 = (b: Buffer): Ipv6 | undefined => {
  if (b.length < IPV6_HEADER || (b[0] ?? 0) >> 4 !== 6) return undefined;
  const ip: Ipv6 = { src: ip6(b, 8), dst: ip6(b, 24), next: b[6] ?? 0, payloadLength: b.readUInt16BE(4) };
  if (ip.next === IPPROTO_ICMPV6) ip.icmp = decodeIcmp(b.subarray(IPV6_HEADER, Math.min(b.length, IPV6_HEADER + ip.payloadLength)));
  return ip;
};

export const decodeEthernet = (data: Buffer, origLen = data.length): Frame | undefined => {
  if (data.length < 14) return undefined;
  const frame: Frame = { dst: mac(data, 0), src: mac(data, 6), vids: [], ethertype: data.readUInt16BE(12), length: origLen, body: data.subarray(14) };
  let at = 14;
  while (TAG_TYPES.has(frame.ethertype) && frame.vids.length < MAX_TAGS) {
    if (data.length < at + 4) return frame;
    frame.vids.push(data.readUInt16BE(at) & 0x0fff);
    frame.ethertype = data.readUInt16BE(at + 2);
    at += 4;
  }
  const body = data.subarray(at);
  frame.body = body;
  if (frame.ethertype === ETH_P_ARP) frame.arp = decodeArp(body);
  else if (frame.ethertype === ETH_P_IP) frame.ipv4 = decodeIpv4(body);
  else if (frame.ethertype === ETH_P_IPV6) frame.ipv6 = decodeIpv6(body);
  return frame;
};

/** The frame's VLAN as a hop sees it: the outermost VID, or null when untagged (or priority-tagged, VID 0). */
export const outerVid = (f: Frame): number | null => {
  const v = f.vids[0];
  return v === undefined || v === 0 ? null : v;
};
