#!/usr/bin/env python3
"""Crafted Ethernet frames for guest-isolation tests, sent and captured raw (AF_PACKET).

  frames.py send IFACE JSON      JSON: a list of frame specs (see frame())
  frames.py capture IFACE SECS   prints "ready", then at SIGTERM (or after SECS) the JSON list of marker ids seen
  frames.py capture udp:PORT SECS  the same for what reaches a UDP socket on any address, PORT (the host's own stack)

Every frame carries "XBMARK-<id>-" in its payload, so a capture knows which crafted frame it saw
whatever tags the bridge added or removed on the way.
"""
import json
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
TYPES = {'ipv4': 0x0800, 'arp': 0x0806, 'ipv6': 0x86DD, 'ra': 0x86DD, 'na': 0x86DD, 'ns': 0x86DD, 'dhcp': 0x0800, 'igmpq': 0x0800, 'bpdu': 38}


def mac(text):
    return bytes.fromhex(text.replace(':', ''))


def checksum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, payload, proto=17, frag=None):
    # frag: cut the datagram in two fragments after that many bytes of its payload (a multiple of 8).
    def part(data, off, more):
        head = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(data), 1, (0x2000 if more else 0) | (off // 8), 64, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
        return head[:10] + struct.pack('!H', checksum(head)) + head[12:] + data
    if frag is None:
        return part(payload, 0, False)
    return [part(payload[:frag], 0, True), part(payload[frag:], frag, False)]


def udp(sport, dport, data):
    return struct.pack('!HHHH', sport, dport, 8 + len(data), 0) + data


def exthdr(kind, nexthdr):
    # One extension header before the upper layer: 0 hop-by-hop and 60 destination options (PadN),
    # 43 a routing header (type 0, no segments left), 44 an atomic fragment (offset 0, no more).
    if kind in (0, 60):
        return bytes([nexthdr, 0, 1, 4, 0, 0, 0, 0])
    if kind == 43:
        return bytes([nexthdr, 0, 0, 0, 0, 0, 0, 0])
    if kind == 44:
        return struct.pack('!BBHI', nexthdr, 0, 0, 0x5843)
    raise ValueError('extension header %r' % kind)


def ipv6(src, dst, nexthdr, payload, frag=None, ext=(), inner=()):
    # inner: extension headers in the fragmentable part (after a fragment header).
    for kind in reversed(inner):
        payload = exthdr(kind, nexthdr) + payload
        nexthdr = kind
    # frag: the first fragment (more to come) of payload, cut after that many bytes.
    if frag is not None:
        payload = struct.pack('!BBHI', nexthdr, 0, 1, 0x5842) + payload[:frag]
        nexthdr = 44
    # ext: extension headers (first outermost) between the IPv6 header and the rest.
    for kind in reversed(ext):
        payload = exthdr(kind, nexthdr) + payload
        nexthdr = kind
    return struct.pack('!IHBB16s16s', 6 << 28, len(payload), nexthdr, 255, socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)) + payload


def body(spec, marker):
    kind = spec.get('kind', 'raw')
    if kind == 'ipv4':
        return ipv4(spec['sip'], spec.get('dip', '255.255.255.255'), udp(spec.get('sport', 40000), spec.get('dport', 9), marker))
    if kind == 'arp':
        sha = mac(spec.get('sha', spec['src']))
        tha = mac(spec.get('tha', '00:00:00:00:00:00'))
        arp = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, spec.get('op', 1), sha, socket.inet_aton(spec['sip']), tha, socket.inet_aton(spec.get('dip', spec['sip'])))
        return arp + marker
    if kind == 'ra':
        # With a valid checksum: a stack that gets it takes it (a default route through the sender).
        src, dst = spec.get('sip', 'fe80::1'), 'ff02::1'
        # The marker in an experimental ND option (type 253, RFC 4727), which a stack skips: bare, it would make the options invalid.
        opt = marker + b'\0' * ((-(len(marker) + 2)) % 8)
        icmp = struct.pack('!BBHBBHII', 134, 0, 0, 64, 0, 1800, 0, 0) + bytes([253, (len(opt) + 2) // 8]) + opt
        pseudo = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + struct.pack('!I3xB', len(icmp), 58)
        icmp = icmp[:2] + struct.pack('!H', checksum(pseudo + icmp)) + icmp[4:]
        return ipv6(src, dst, 58, icmp)
    if kind == 'ipv6':
        proto = spec.get('proto', 17)
        upper = udp(spec.get('sport', 40000), spec.get('dport', 9), marker) if proto == 17 else struct.pack('!BBHHH', 128, 0, 0, 1, 1) + marker
        return ipv6(spec['sip'], spec.get('dip', 'ff02::1'), proto, upper, spec.get('frag'), spec.get('ext', ()), spec.get('inner', ()))
    if kind == 'na':
        # Unsolicited, override: the target's address is at the sender's link-layer address.
        target = socket.inet_pton(socket.AF_INET6, spec['target'])
        icmp = struct.pack('!BBHI16sBB6s', 136, 0, 0, 0x20000000, target, 2, 1, mac(spec['src'])) + marker
        return ipv6(spec.get('sip', 'fe80::1'), 'ff02::1', 58, icmp, spec.get('frag'), spec.get('ext', ()), spec.get('inner', ()))
    if kind == 'ns':
        # Duplicate address detection (from ::, to the target's solicited-node group), with a valid
        # checksum: a stack doing DAD for that target gives its address up.
        target = socket.inet_pton(socket.AF_INET6, spec['target'])
        src, dst = spec.get('sip', '::'), socket.inet_ntop(socket.AF_INET6, bytes.fromhex('ff02' + '00' * 9 + '01ff') + target[13:])
        # The marker in an experimental ND option, as in the RA (after the packet a bridge trims it).
        opt = marker + b'\0' * ((-(len(marker) + 2)) % 8)
        icmp = struct.pack('!BBHI16s', 135, 0, 0, 0, target) + bytes([253, (len(opt) + 2) // 8]) + opt
        pseudo = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + struct.pack('!I3xB', len(icmp), 58)
        icmp = icmp[:2] + struct.pack('!H', checksum(pseudo + icmp)) + icmp[4:]
        return ipv6(src, dst, 58, icmp, ext=spec.get('ext', ()))
    if kind == 'dhcp':
        # A DHCPDISCOVER (BOOTP request) for chaddr.
        bootp = struct.pack('!BBBBIHH4s4s4s4s16s', 1, 1, 6, 0, 0x1234, 0, 0x8000, b'\0' * 4, b'\0' * 4, b'\0' * 4, b'\0' * 4, mac(spec.get('chaddr', spec['src'])) + b'\0' * 10)
        bootp += b'\0' * 192 + bytes([99, 130, 83, 99, 53, 1, 1, 255]) + marker
        return ipv4(spec.get('sip', '0.0.0.0'), spec.get('dip', '255.255.255.255'), udp(68, 67, bootp), frag=spec.get('frag4'))
    if kind == 'igmpq':
        igmp = struct.pack('!BBH4s', 0x11, 100, 0, b'\0' * 4)
        igmp = igmp[:2] + struct.pack('!H', checksum(igmp)) + igmp[4:]
        return ipv4(spec['sip'], '224.0.0.1', igmp + marker, proto=2)
    if kind == 'bpdu':
        # A configuration BPDU from a bridge claiming to be the root, priority 0, behind 802.2 LLC.
        me = struct.pack('!H', 0) + mac(spec['src'])
        bpdu = struct.pack('!HBBB8sI8sHHHHH', 0, 0, 0, 0, me, 0, me, 0x8001, 0, 20 * 256, 2 * 256, 15 * 256)
        return bytes([0x42, 0x42, 0x03]) + bpdu + marker
    return marker * 4


def frame(spec):
    marker = ('XBMARK-%s-' % spec['id']).encode()
    kind = spec.get('kind', 'raw')
    out = mac(spec.get('dst', '01:80:c2:00:00:00' if kind == 'bpdu' else 'ff:ff:ff:ff:ff:ff')) + mac(spec['src'])
    for tpid, vid in spec.get('tags', []):
        out += struct.pack('!HH', tpid, vid)
    out += struct.pack('!H', spec.get('type', TYPES.get(kind, 0x88B5)))
    parts = body(spec, marker)
    # A fragmented datagram is sent as one frame per fragment, in order.
    return [pad(out + b) for b in parts] if isinstance(parts, list) else pad(out + parts)


def pad(out):
    return out + b'\0' * max(0, 60 - len(out))


def send(iface, specs):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for spec in specs:
        for _ in range(spec.get('count', 2)):
            f = frame(spec)
            for one in (f if isinstance(f, list) else [f]):
                s.send(one)


def capture(iface, seconds):
    udp = iface.startswith('udp:')
    if udp:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(('0.0.0.0', int(iface[4:])))
    else:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((iface, 0))
    s.settimeout(0.1)
    print('ready', flush=True)
    seen = set()
    end = time.time() + seconds
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while time.time() < end and not stop:
        try:
            data, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if not udp and addr[2] == PACKET_OUTGOING:
            continue
        at = data.find(b'XBMARK-')
        if at >= 0:
            seen.add(data[at + 7:].split(b'-', 1)[0].decode(errors='replace'))
    print(json.dumps(sorted(seen)), flush=True)


if __name__ == '__main__':
    if sys.argv[1] == 'send':
        send(sys.argv[2], json.loads(sys.argv[3]))
    else:
        capture(sys.argv[2], float(sys.argv[3]))
