/**
 * One tcpdump per interface, all started at once and each waited for until it says it is
 * listening. -p: a capture in promiscuous mode on a bridge lets frames up that the bridge would
 * otherwise not pass (br_pass_frame_up skips its egress VLAN check), so it would change the very
 * thing being measured. --immediate-mode and -U: every frame reaches the file as it arrives, so
 * stopping the capture loses nothing still sitting in a kernel buffer block.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isXbError } from '../../errors.js';
import type { Background, Runner } from '../../exec/runner.js';
import { decodeEthernet, type Frame } from './frame.js';
import { LINKTYPE_ETHERNET, parsePcap } from './pcap.js';

export interface Capture {
  dev: string;
  file: string;
  /** Set when tcpdump could not capture here (no such device, device down, not installed). */
  error?: string;
  bg?: Background;
}

export interface CaptureOptions {
  /** Bytes kept per frame: headers and the start of an echo payload are all that is read. */
  snaplen?: number;
  /** A pcap-filter expression; none in --listen, which tallies everything. */
  filter?: string;
  readyMs?: number;
  /** Hard end of every capture, in seconds: a verify killed -9 leaves no tcpdump behind for longer. */
  maxSeconds?: number;
}

/** Our probes and nothing else, tagged or not (the vlan keyword covers tags held out of band too). */
export const PROBE_FILTER = 'arp or icmp or icmp6 or (vlan and (arp or icmp or icmp6))';

const captureFile = (dir: string, dev: string): string => join(dir, `${dev.replace(/[^A-Za-z0-9_.-]/g, '_')}.pcap`);

const tcpdumpError = (text: string, dev: string): string => {
  if (/failed to run command .tcpdump.: No such file/.test(text)) return 'tcpdump is not installed (not found in PATH)';
  const line = text.split('\n').map((l) => l.replace(/^tcpdump: /, '').trim()).find((l) => l !== '' && !l.startsWith('listening on'));
  return line ?? `tcpdump on ${dev} stopped before it was listening`;
};

export const startCaptures = async (runner: Runner, devs: string[], dir: string, o: CaptureOptions = {}): Promise<Capture[]> => {
  const caps = [...new Set(devs)].map((dev): Capture => {
    const file = captureFile(dir, dev);
    // -Z root: Debian's tcpdump otherwise drops to its own user before creating the file.
    const args = ['-p', '-U', '--immediate-mode', '-n', '-Z', 'root', '-s', String(o.snaplen ?? 256), '-i', dev, '-w', file, ...(o.filter ? [o.filter] : [])];
    // Under timeout(1), which passes our SIGINT on to tcpdump and ends it by itself if we are gone.
    const max = o.maxSeconds ?? 120;
    return { dev, file, bg: runner.start('timeout', ['-s', 'INT', String(max), 'tcpdump', ...args], { inNetns: true, timeoutMs: (max + 5) * 1000 }) };
  });
  await Promise.all(caps.map(async (c) => {
    const bg = c.bg;
    if (!bg) return;
    if (await bg.waitFor(/listening on/, o.readyMs ?? 30_000)) return;
    c.error = tcpdumpError(bg.output(), c.dev);
    await bg.stop();
    c.bg = undefined;
  }));
  return caps;
};

const sizes = (caps: Capture[]): string => caps.map((c) => (existsSync(c.file) ? statSync(c.file).size : -1)).join(',');

/**
 * Waits until no capture file has grown for `quietMs` (frames still in flight are written by
 * then), at most `maxMs`, then stops every tcpdump.
 */
export const stopCaptures = async (caps: Capture[], quietMs = 200, maxMs = 2_000): Promise<void> => {
  const live = caps.filter((c) => c.bg);
  const start = Date.now();
  let last = sizes(live);
  let stableSince = Date.now();
  while (Date.now() - start < maxMs && Date.now() - stableSince < quietMs) {
    await sleep(50);
    const now = sizes(live);
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    }
  }
  await Promise.all(live.map(async (c) => {
    await c.bg?.stop();
    c.bg = undefined;
  }));
};

/** The frames of one capture; an error (as text) when the file is not a readable Ethernet pcap. */
export const readCapture = (c: Capture): Frame[] | string => {
  if (c.error) return c.error;
  if (!existsSync(c.file)) return `tcpdump wrote no file for ${c.dev}`;
  let pcap;
  try {
    pcap = parsePcap(readFileSync(c.file), c.file);
  } catch (e) {
    if (isXbError(e)) return e.message;
    throw e;
  }
  if (pcap.linktype !== LINKTYPE_ETHERNET) return `${c.dev}: link type ${pcap.linktype} is not Ethernet`;
  return pcap.records.flatMap((r) => decodeEthernet(r.data, r.origLen) ?? []);
};
