/** Crafted frames from inside a namespace (test/helpers/frames.py), and captures that name what arrived. */
import { execa } from 'execa';
import { ROOT } from './sh.js';

const SCRIPT = `${ROOT}test/helpers/frames.py`;

export interface FrameSpec {
  id: string;
  src: string;
  dst?: string;
  /** Outer first: [TPID, TCI]. */
  tags?: [number, number][];
  /** na: an unsolicited neighbor advertisement for target; ns: duplicate address detection for target; dhcp: a DISCOVER for chaddr; igmpq: an IGMP query; bpdu: a root-claiming STP BPDU. */
  kind?: 'raw' | 'ipv4' | 'arp' | 'ra' | 'ipv6' | 'na' | 'ns' | 'dhcp' | 'igmpq' | 'bpdu';
  target?: string;
  chaddr?: string;
  /** ipv6 and na: the first fragment only, cut after this many bytes of its payload. */
  frag?: number;
  /** ipv6, na, ns: extension headers (0 hop-by-hop, 60 destination options, 43 routing, 44 atomic fragment) before the rest; inner: after the fragment header, in the fragmentable part. */
  ext?: number[];
  inner?: number[];
  /** dhcp: sent as two IPv4 fragments, the first with this many bytes of the datagram's payload (a multiple of 8). */
  frag4?: number;
  /** ipv6: 17 (UDP, default) or 58 (an ICMPv6 echo request). */
  proto?: number;
  type?: number;
  sip?: string;
  dip?: string;
  sha?: string;
  op?: number;
  sport?: number;
  dport?: number;
  count?: number;
}

export const sendFrames = async (ns: string, iface: string, frames: FrameSpec[]): Promise<void> => {
  await execa('ip', ['netns', 'exec', ns, '/usr/bin/python3', SCRIPT, 'send', iface, JSON.stringify(frames)]);
};

export interface Capture {
  where: string;
  /** Ends the capture (after a moment for frames still on their way) and gives the marker ids seen. */
  stop(): Promise<string[]>;
}

/** Starts a capture on ns/iface, resolved once its socket is listening. */
export const startCapture = async (ns: string, iface: string, maxSeconds = 60): Promise<Capture> => {
  const p = execa('ip', ['netns', 'exec', ns, '/usr/bin/python3', SCRIPT, 'capture', iface, String(maxSeconds)]);
  await new Promise<void>((resolve, reject) => {
    p.stdout?.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
    p.catch(reject);
  });
  return {
    where: `${ns}/${iface}`,
    stop: async () => {
      p.kill('SIGTERM');
      const r = await p;
      return JSON.parse(r.stdout.split('\n').pop() ?? '[]') as string[];
    },
  };
};

/** Sends frames from one place while capturing at others: which ids reached which capture. */
export const sendAndCapture = async (from: [string, string], frames: FrameSpec[], at: [string, string, string][], settleMs = 500): Promise<Record<string, string[]>> => {
  const caps = await Promise.all(at.map(async ([name, ns, iface]) => ({ name, cap: await startCapture(ns, iface) })));
  await sendFrames(from[0], from[1], frames);
  await new Promise((r) => setTimeout(r, settleMs));
  const out: Record<string, string[]> = {};
  for (const c of caps) out[c.name] = await c.cap.stop();
  return out;
};
