/**
 * A small reader for classic pcap files (what `tcpdump -w` writes): the global header in either
 * byte order, micro- or nanosecond timestamps, then records. Every length is checked against the
 * bytes that are really there: a capture stopped mid-write ends in a partial record, which is
 * reported as `truncated` rather than read past.
 */
import { XbError } from '../../errors.js';

export const LINKTYPE_ETHERNET = 1;

export interface PcapRecord {
  /** Seconds since the epoch, with the file's sub-second precision. */
  time: number;
  /** Bytes on the wire (a record may hold fewer: the snapshot length). */
  origLen: number;
  data: Buffer;
}

export interface PcapFile {
  linktype: number;
  snaplen: number;
  nanosecond: boolean;
  records: PcapRecord[];
  /** The file ended inside a record (the writer was stopped mid-record). */
  truncated: boolean;
}

const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;
/** Larger than any snapshot length libpcap accepts: a record claiming more is corrupt. */
const MAX_RECORD = 262_144;

interface Endian {
  u32(b: Buffer, at: number): number;
}
const LE: Endian = { u32: (b, at) => b.readUInt32LE(at) };
const BE: Endian = { u32: (b, at) => b.readUInt32BE(at) };

const MAGICS: Record<number, { e: Endian; nano: boolean }> = {
  0xa1b2c3d4: { e: LE, nano: false },
  0xa1b23c4d: { e: LE, nano: true },
};

const headerOf = (buf: Buffer, what: string): { e: Endian; nano: boolean } => {
  if (buf.length < GLOBAL_HEADER) throw new XbError('verify', `${what}: not a pcap file (${buf.length} bytes, shorter than its header)`);
  const le = MAGICS[buf.readUInt32LE(0)];
  if (le) return le;
  const be = MAGICS[buf.readUInt32BE(0)];
  if (be) return { e: BE, nano: be.nano };
  const hint = buf.readUInt32LE(0) === 0x0a0d0d0a ? ' (pcapng: capture with -w, which writes pcap)' : '';
  throw new XbError('verify', `${what}: not a pcap file (magic 0x${buf.readUInt32BE(0).toString(16).padStart(8, '0')})${hint}`);
};

export const parsePcap = (buf: Buffer, what = 'pcap'): PcapFile => {
  const { e, nano } = headerOf(buf, what);
  const snaplen = e.u32(buf, 16);
  const linktype = e.u32(buf, 20) & 0x0fffffff;
  const records: PcapRecord[] = [];
  let at = GLOBAL_HEADER;
  let truncated = false;
  while (at < buf.length) {
    if (buf.length - at < RECORD_HEADER) {
      truncated = true;
      break;
    }
    const inclLen = e.u32(buf, at + 8);
    const origLen = e.u32(buf, at + 12);
    if (inclLen > MAX_RECORD) throw new XbError('verify', `${what}: record at byte ${at} claims ${inclLen} bytes: the file is corrupt`);
    if (buf.length - at - RECORD_HEADER < inclLen) {
      truncated = true;
      break;
    }
    const frac = e.u32(buf, at + 4);
    records.push({
      time: e.u32(buf, at) + frac / (nano ? 1e9 : 1e6),
      origLen: Math.max(origLen, inclLen),
      data: buf.subarray(at + RECORD_HEADER, at + RECORD_HEADER + inclLen),
    });
    at += RECORD_HEADER + inclLen;
  }
  return { linktype, snaplen, nanosecond: nano, records, truncated };
};
