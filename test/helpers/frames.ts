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
  kind?: 'raw' | 'ipv4' | 'arp' | 'ra' | 'ipv6';
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
  await execa('ip', ['netns', 'exec', ns, 'python3', SCRIPT, 'send', iface, JSON.stringify(frames)]);
};

export interface Capture {
  where: string;
  /** The marker ids seen, once the capture has ended. */
  ids: Promise<string[]>;
}

/** Starts a capture on ns/iface for `seconds`, resolved once the socket is listening. */
export const startCapture = async (ns: string, iface: string, seconds: number): Promise<Capture> => {
  const p = execa('ip', ['netns', 'exec', ns, 'python3', SCRIPT, 'capture', iface, String(seconds)]);
  await new Promise<void>((resolve, reject) => {
    p.stdout?.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
    p.catch(reject);
  });
  return { where: `${ns}/${iface}`, ids: p.then((r) => JSON.parse(r.stdout.split('\n').pop() ?? '[]') as string[]) };
};

/** Sends frames from one place while capturing at others: which ids reached which capture. */
export const sendAndCapture = async (from: [string, string], frames: FrameSpec[], at: [string, string, string][], seconds = 2): Promise<Record<string, string[]>> => {
  const caps = await Promise.all(at.map(async ([name, ns, iface]) => ({ name, cap: await startCapture(ns, iface, seconds) })));
  await sendFrames(from[0], from[1], frames);
  const out: Record<string, string[]> = {};
  for (const c of caps) out[c.name] = await c.cap.ids;
  return out;
};
