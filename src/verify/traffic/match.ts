/**
 * Which captured frames are this run's probes. Echo probes carry a payload pattern unique to the
 * run, the path and the probe kind (ping -p), so other pings and other paths never count; ARP
 * probes are known by their target address and dom0's MAC.
 */
import type { Frame } from './frame.js';
import type { Direction, PathSpec, ProbeKind } from './types.js';

export const PATTERN_BYTES = 8;

/** 6 random bytes per run, then the path's index and the probe kind. */
export const echoPattern = (nonce: Buffer, path: PathSpec, probe: 'echo' | 'df'): Buffer =>
  Buffer.concat([nonce.subarray(0, 6), Buffer.from([path.index & 0xff, probe === 'echo' ? 1 : 2])]);

const ARP_REQUEST = 1;
const ARP_REPLY = 2;
const ICMP_ECHO_REPLY = 0;
const ICMP_ECHO_REQUEST = 8;

export const isProbe = (f: Frame, p: PathSpec, probe: ProbeKind, dir: Direction, nonce: Buffer): boolean => {
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
