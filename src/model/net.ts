/** Address and MAC helpers: CIDR parsing (netmask for IPv4, our own for IPv6), subnet membership. */
import { Netmask } from 'netmask';
import { isIP } from 'node:net';

export interface Cidr {
  family: 4 | 6;
  address: string;
  prefix: number;
}

/**
 * node's isIP also takes an IPv6 zone (fe80::1%eth0): a scope the kernel's address and route
 * commands, and nft, do not read from the address. An address here never has one.
 */
const familyOf = (text: string): number => (text.includes('%') ? 0 : isIP(text));

export const parseCidr = (text: string): Cidr | undefined => {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const [, address = '', p = ''] = m;
  const family = familyOf(address);
  const prefix = Number(p);
  if (family === 4 && prefix <= 32) return { family: 4, address, prefix };
  if (family === 6 && prefix <= 128) return { family: 6, address: address.toLowerCase(), prefix };
  return undefined;
};

export const ipFamily = (text: string): 0 | 4 | 6 => familyOf(text) as 0 | 4 | 6;

const v6ToBigInt = (addr: string): bigint => {
  const [head = '', tail] = addr.split('::');
  const parts = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const h = parts(head);
  const t = tail === undefined ? [] : parts(tail);
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g, 16)), 0n);
};

/** True when `ip` lies inside the subnet of `cidr`. */
export const inSubnet = (cidr: Cidr, ip: string): boolean => {
  const fam = familyOf(ip);
  if (fam !== cidr.family) return false;
  if (fam === 4) return new Netmask(`${cidr.address}/${cidr.prefix}`).contains(ip);
  const shift = BigInt(128 - cidr.prefix);
  return v6ToBigInt(cidr.address) >> shift === v6ToBigInt(ip) >> shift;
};

export const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
/** A PCI address as sysfs and lspci -D write it: domain:bus:device.function. */
export const PCI_RE = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;
export const XEN_PORT_MAC = 'fe:ff:ff:ff:ff:ff';

export const normalizeMac = (mac: string): string => mac.toLowerCase();

/**
 * FNV-1a over the UTF-8 bytes, folded to 24 bits. Interface names are ASCII, hashed from their
 * char codes; only another name goes through a Buffer: a Buffer per name was most of planning
 * 1000 bridges.
 */
const fnv24 = (text: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return fnv24Bytes(Buffer.from(text));
    h = Math.imul(h ^ c, 0x01000193) >>> 0;
  }
  return h & 0xffffff;
};

const fnv24Bytes = (bytes: Uint8Array): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ (bytes[i] ?? 0), 0x01000193) >>> 0;
  return h & 0xffffff;
};

const hex2 = (x: number): string => (x < 16 ? '0' : '') + x.toString(16);

/**
 * A stable, locally administered MAC for a bridge, derived from the NIC it serves so that two hosts
 * on one segment never share it, and different from that NIC's own MAC.
 */
export const deriveBridgeMac = (seedMac: string, bridge: string): string => {
  const b = seedMac.split(':').map((x) => parseInt(x, 16));
  const h = fnv24(bridge);
  const b5 = (b[5] ?? 0) ^ (h & 0xff);
  const head = `${hex2(((b[0] ?? 0) | 0x02) & 0xfe)}:${hex2(b[1] ?? 0)}:${hex2(b[2] ?? 0)}:${hex2((b[3] ?? 0) ^ (h >> 16))}:${hex2((b[4] ?? 0) ^ ((h >> 8) & 0xff))}:`;
  const mac = head + hex2(b5);
  return mac === seedMac ? head + hex2(b5 ^ 1) : mac;
};

/** IPv6's minimum link MTU (RFC 8200): the kernel removes IPv6 from a link below it. */
export const IPV6_MIN_MTU = 1280;

/** Why an interface address is not one to give a host, or undefined: the kernel refuses some, the rest break routing. */
export const hostAddressProblem = (c: Cidr): string | undefined => {
  if (c.prefix === 0) return 'a /0 prefix would put every address on this link';
  if (c.family === 4) {
    const first = Number(c.address.split('.')[0]);
    if (c.address === '0.0.0.0') return 'the unspecified address is not a host address';
    if (c.address === '255.255.255.255') return 'the broadcast address is not a host address';
    if (first === 127) return 'a loopback address belongs on lo';
    if (first >= 224) return 'a multicast or reserved address is not a host address';
    return undefined;
  }
  if (inSubnet({ family: 6, address: '::', prefix: 127 }, c.address)) return 'the unspecified or loopback address is not a host address';
  if (inSubnet({ family: 6, address: 'ff00::', prefix: 8 }, c.address)) return 'a multicast address is not a host address';
  return undefined;
};

/** Why a MAC cannot be a bridge's own address (the kernel refuses the first two; Xen's port MAC would clash), or undefined. */
export const unicastMacProblem = (mac: string): string | undefined => {
  if (/^(00:){5}00$/.test(mac)) return 'the all-zero MAC is not an address';
  if (parseInt(mac.slice(0, 2), 16) & 1) return 'a multicast or broadcast MAC (first octet odd) cannot be a bridge\'s own address';
  if (mac === XEN_PORT_MAC) return 'every vif port has this MAC (Xen gives it to them so that no port lends the bridge its own): the bridge needs another';
  return undefined;
};
