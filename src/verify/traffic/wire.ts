/**
 * Reads what the probes need beyond `ip link/addr/route`: dom0's neighbour table, and a short
 * listen on the uplinks for the VLANs that arrive there and the addresses that speak on them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Runner } from '../../exec/runner.js';
import type { Topology } from '../../model/topology.js';
import { readState } from '../../state/read.js';
import { readCapture, startCaptures, stopCaptures } from './capture.js';
import { discoverTopology } from './discover.js';
import { outerVid, type Frame } from './frame.js';
import { parseNeighbours, type Neighbour, type WireSample } from './targets.js';

export const readNeighbours = async (runner: Runner): Promise<Neighbour[]> => {
  const r = await runner.batch('ip', ['neigh show'], { json: true });
  if (!r.ok) return [];
  try {
    return parseNeighbours(JSON.parse(r.stdout.trim() || '[]'));
  } catch {
    return [];
  }
};

/** VIDs and ARP senders in one capture (the part of the listen that is pure). */
export const sampleOf = (dev: string, frames: Frame[]): WireSample => {
  const vids = new Set<number>();
  const senders = new Map<string, { vid: number | null; address: string }>();
  for (const f of frames) {
    const vid = outerVid(f);
    if (vid !== null) vids.add(vid);
    const spa = f.arp?.spa;
    if (spa && spa !== '0.0.0.0') senders.set(`${vid}/${spa}`, { vid, address: spa });
  }
  return { dev, vids: [...vids].sort((a, b) => a - b), senders: [...senders.values()] };
};

/** Listens `seconds` on each uplink; a device tcpdump cannot open gives an empty sample. */
export const sampleWire = async (runner: Runner, devs: string[], seconds: number): Promise<WireSample[]> => {
  if (devs.length === 0 || seconds <= 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'xenbridge-wire-'));
  try {
    const caps = await startCaptures(runner, devs, dir, { snaplen: 96, maxSeconds: seconds + 30 });
    try {
      await sleep(seconds * 1000);
    } finally {
      await stopCaptures(caps, 100, 1_000);
    }
    return caps.map((c) => {
      const got = readCapture(c);
      return sampleOf(c.dev, typeof got === 'string' ? [] : got);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/**
 * `verify --traffic --discover`: the topology read off the live state, its uplinks listened to for
 * `seconds`, then read again with the VLANs heard there.
 */
export const discoverLive = async (runner: Runner, seconds: number): Promise<{ topology: Topology; wire: WireSample[] }> => {
  const state = await readState(runner, { bridgeVlans: true });
  const first = discoverTopology(state);
  const wire = await sampleWire(runner, first.bridges.flatMap((b) => (b.uplinkPort ? [b.uplinkPort] : [])), seconds);
  return { topology: discoverTopology(state, wire), wire };
};
