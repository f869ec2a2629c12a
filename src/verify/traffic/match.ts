/**
 * Which captured frames are this run's probes. Echo probes carry a payload pattern unique to the
 * run, the path and the probe kind (ping -p), so other pings and other paths never count; ARP
 * probes are known by their target address and dom0's MAC, neighbour discovery by its target.
 */
import { ip6, type Frame } from './frame.js';
import type { Direction, PathSpec, ProbeKind } from './types.js';

export const PATTERN_BYTES = 8;

/** 6 random bytes per run, then the path's index and the probe kind. */
const KIND_BYTE = { echo: 1, df: 2, mcast: 3 } as const;

export const echoPattern = (nonce: Buffer, path: PathSpec, probe: 'echo' | 'df' | 'mcast'): Buffer =>
  Buffer.concat([nonce.subarray(0, 6), Buffer.from([path.index & 0xff, KIND_BYTE[probe]])]);

/** The all-nodes group: every IPv6 host on the link. */
export const ALL_NODES = 'ff02::1';

const ARP_REQUEST = 1;
const ARP_REPLY = 2;
const ICMP_ECHO_REPLY = 0;
const ICMP_ECHO_REQUEST = 8;

const ICMP6_ECHO_REQUEST = 128;
const ICMP6_ECHO_REPLY = 129;
const ND_SOLICIT = 135;
const ND_ADVERT = 136;

const isProbe6 = (f: Frame, p: PathSpec, probe: ProbeKind, dir: Direction, nonce: Buffer): boolean => {
  const ip = f.ipv6;
  const icmp = ip?.icmp;
  if (!ip || !icmp || p.source === undefined) return false;
  const mine = (m: string): boolean => p.originMac === undefined || m === p.originMac;
  if (probe === 'nd') {
    // The target address follows 4 reserved (or flag) bytes after the ICMPv6 header.
    const target = icmp.payload.length >= 16 ? ip6(icmp.payload, 0) : undefined;
    return target === p.target && (dir === 'request' ? icmp.type === ND_SOLICIT && mine(f.src) : icmp.type === ND_ADVERT && mine(f.dst));
  }
  if (probe === 'arp') return false;
  const pattern = icmp.payload.includes(echoPattern(nonce, p, probe));
  if (probe === 'mcast') {
    return pattern && (dir === 'request' ? icmp.type === ICMP6_ECHO_REQUEST && ip.src === p.source && ip.dst === ALL_NODES : icmp.type === ICMP6_ECHO_REPLY && ip.dst === p.source);
  }
  const request = dir === 'request';
  const [src, dst, type] = request ? [p.source, p.target, ICMP6_ECHO_REQUEST] : [p.target, p.source, ICMP6_ECHO_REPLY];
  // A probe port's namespace may take a SLAAC address from the network's router advertisements
  // while it exists, and the kernel may send from that: its own MAC and the pattern say it is ours.
  const ours = p.guest !== undefined ? (request ? ip.dst === dst && mine(f.src) : ip.src === src && mine(f.dst)) : ip.src === src && ip.dst === dst;
  return pattern && icmp.type === type && ours;
};

export const isProbe = (f: Frame, p: PathSpec, probe: ProbeKind, dir: Direction, nonce: Buffer): boolean => {
  if (p.family === 6) return isProbe6(f, p, probe, dir, nonce);
  if (probe === 'nd' || probe === 'mcast') return false;
  if (probe === 'arp') {
    const a = f.arp;
    if (!a) return false;
    const mine = (m: string): boolean => p.originMac === undefined || m === p.originMac;
    return dir === 'request' ? a.op === ARP_REQUEST && a.tpa === p.target && mine(a.sha) : a.op === ARP_REPLY && a.spa === p.target && mine(a.tha);
  }
  const ip = f.ipv4;
  const icmp = ip?.icmp;
  if (!ip || !icmp || p.source === undefined) return false;
  const [src, dst, type] = dir === 'request' ? [p.source, p.target, ICMP_ECHO_REQUEST] : [p.target, p.source, ICMP_ECHO_REPLY];
  return icmp.type === type && ip.src === src && ip.dst === dst && icmp.payload.includes(echoPattern(nonce, p, probe));
};
