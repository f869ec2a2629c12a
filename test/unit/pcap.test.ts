// The pcap reader and frame decoder: on tcpdump's own tagged capture (made in the VM bed by
// test/fixtures/pcap/make-fixtures.sh) and on files built byte by byte for the edge cases.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeEthernet, outerVid } from '../../src/verify/traffic/frame.js';
import { parsePcap } from '../../src/verify/traffic/pcap.js';
import { ROOT } from '../helpers/sh.js';

const fixture = (name: string) => readFileSync(join(ROOT, 'test/fixtures/pcap', name));

/** A pcap file: the 24-byte header, then one record per frame. */
const pcap = (frames: Buffer[], o: { be?: boolean; nano?: boolean; linktype?: number; origExtra?: number } = {}): Buffer => {
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    if (o.be) b.writeUInt32BE(n);
    else b.writeUInt32LE(n);
    return b;
  };
  const u16 = (n: number) => {
    const b = Buffer.alloc(2);
    if (o.be) b.writeUInt16BE(n);
    else b.writeUInt16LE(n);
    return b;
  };
  const head = Buffer.concat([u32(o.nano ? 0xa1b23c4d : 0xa1b2c3d4), u16(2), u16(4), u32(0), u32(0), u32(65535), u32(o.linktype ?? 1)]);
  return Buffer.concat([head, ...frames.flatMap((f, i) => [u32(1_700_000_000 + i), u32(500), u32(f.length), u32(f.length + (o.origExtra ?? 0)), f])]);
};

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ETH_HDR = 'ffffffffffff 020000000001';
const ARP_BODY = '0001 0800 06 04 0001 020000000001 0a0a0002 000000000000 0a0a0001';
const taggedArp = hex(`${ETH_HDR} 8100 000a 0806 ${ARP_BODY}`);

describe('tcpdump\'s capture of tagged frames (libpcap re-inserted the tags the kernel kept out of band)', () => {
  const file = parsePcap(fixture('tagged.pcap'), 'tagged.pcap');
  const frames = file.records.map((r) => decodeEthernet(r.data, r.origLen));

  it('reads every record of the file', () => {
    expect([file.linktype, file.snaplen, file.truncated, file.records.length]).toEqual([1, 256, false, 14]);
  });

  it('decodes 802.1Q VLAN 10 ARP and ICMP echo, with addresses, op and payload', () => {
    const [req, rep, , , echo, echoReply] = frames;
    expect([req?.vids, req?.dst, req?.arp?.op, req?.arp?.spa, req?.arp?.tpa, req?.length]).toEqual([[10], 'ff:ff:ff:ff:ff:ff', 1, '10.10.0.2', '10.10.0.1', 46]);
    expect([rep?.vids, rep?.arp?.op, rep?.arp?.spa, rep?.arp?.tha]).toEqual([[10], 2, '10.10.0.1', req?.src]);
    expect([echo?.vids, echo?.ipv4?.src, echo?.ipv4?.dst, echo?.ipv4?.icmp?.type, echo?.length]).toEqual([[10], '10.10.0.2', '10.10.0.1', 8, 102]);
    expect(echo?.ipv4?.icmp?.payload.includes(Buffer.from('xbvi'))).toBe(true);
    expect([echoReply?.ipv4?.icmp?.type, echoReply?.ipv4?.icmp?.id]).toEqual([0, echo?.ipv4?.icmp?.id]);
  });

  it('decodes untagged frames as untagged', () => {
    const untagged = frames.filter((f) => f?.vids.length === 0);
    expect(untagged.map((f) => [f?.arp?.op ?? f?.ipv4?.icmp?.type, f?.arp?.tpa ?? f?.ipv4?.dst, outerVid(f!)])).toEqual([
      [1, '192.0.2.1', null], [2, '192.0.2.2', null], [8, '192.0.2.1', null], [0, '192.0.2.2', null],
    ]);
  });

  it('decodes an 802.1ad tag carrying an 802.1Q tag as two VLANs, outer first', () => {
    const qinq = frames.filter((f) => (f?.vids.length ?? 0) > 1);
    expect(qinq.map((f) => [f?.vids, f?.arp?.op ?? f?.ipv4?.icmp?.type])).toEqual([[[100, 30], 1], [[100, 30], 2], [[100, 30], 8], [[100, 30], 0]]);
    expect(outerVid(qinq[0]!)).toBe(100);
  });
});

describe('pcap files built byte by byte', () => {
  it('reads big-endian files and nanosecond timestamps', () => {
    const be = parsePcap(pcap([taggedArp], { be: true }));
    expect([be.records.length, be.records[0]?.time]).toEqual([1, 1_700_000_000.0005]);
    const nano = parsePcap(pcap([taggedArp], { nano: true }));
    expect([nano.nanosecond, nano.records[0]?.time]).toEqual([true, 1_700_000_000.0000005]);
    expect(decodeEthernet(be.records[0]!.data)?.arp?.tpa).toBe('10.10.0.1');
  });

  it('keeps the wire length of a frame cut by the snapshot length', () => {
    const f = parsePcap(pcap([taggedArp], { origExtra: 1000 }));
    expect([f.records[0]?.data.length, f.records[0]?.origLen]).toEqual([46, 1046]);
  });

  it('stops at a record the writer did not finish, and says so', () => {
    const whole = pcap([taggedArp, taggedArp]);
    for (const cut of [1, 10, 16, 20]) {
      const f = parsePcap(whole.subarray(0, whole.length - cut));
      expect([f.records.length, f.truncated]).toEqual([1, true]);
    }
    expect(parsePcap(pcap([])).records).toEqual([]);
  });

  it('refuses what is not a pcap file, and a record longer than any snapshot length', () => {
    expect(() => parsePcap(Buffer.alloc(10), 'x.pcap')).toThrow('x.pcap: not a pcap file (10 bytes, shorter than its header)');
    expect(() => parsePcap(Buffer.concat([hex('0a0d0d0a'), Buffer.alloc(40)]))).toThrow(/pcapng/);
    const bad = pcap([taggedArp]);
    bad.writeUInt32LE(0x7fffffff, 24 + 8);
    expect(() => parsePcap(bad, 'bad.pcap')).toThrow('bad.pcap: record at byte 24 claims 2147483647 bytes: the file is corrupt');
  });

  it('decodes only as far as the bytes go', () => {
    expect(decodeEthernet(Buffer.alloc(13))).toBeUndefined();
    const cutTag = decodeEthernet(hex(`${ETH_HDR} 8100 00`));
    expect([cutTag?.vids, cutTag?.arp]).toEqual([[], undefined]);
    expect(decodeEthernet(hex(`${ETH_HDR} 0806 0001 0800 06 04 0001`))?.arp).toBeUndefined();
    expect(decodeEthernet(hex(`${ETH_HDR} 0800 4f00 0054`))?.ipv4).toBeUndefined();
    const prio = decodeEthernet(hex(`${ETH_HDR} 8100 6000 0806 ${ARP_BODY}`));
    expect([prio?.vids, outerVid(prio!), prio?.arp?.op]).toEqual([[0], null, 1]);
    // IPv4 with options (IHL 6), ICMP after them; a later fragment carries no ICMP header.
    const ip = (frag: string) => hex(`${ETH_HDR} 0800 46000024 0000 ${frag} 4001 0000 0a0a0002 0a0a0001 01010000 0800 0000 1234 0001 7862 7669`);
    expect(decodeEthernet(ip('4000'))?.ipv4).toMatchObject({ df: true, totalLength: 36, icmp: { type: 8, id: 0x1234, seq: 1 } });
    expect(decodeEthernet(ip('2001'))?.ipv4?.icmp).toBeUndefined();
  });
});
