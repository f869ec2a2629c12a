/**
 * Probe ports: temporary veth pairs whose one end is a port of a bridge and whose other end lives
 * in a private namespace, standing in for a guest. They are created and removed as a journaled run
 * of the transaction machinery, under the namespace's lock, so a run killed at any instruction
 * leaves a journal: the next verify undoes it first, and `xenbridge status` / `rollback` see it as
 * an interrupted run like any other.
 *
 * The private namespace is named, and a named namespace can only be made in the host's mount
 * namespace (`ip -n NS netns add` mounts it where nobody else sees it). With --netns the namespace
 * is therefore created by a host-scope run and the ports by the NS-scope run: two journals.
 */
import { randomBytes } from 'node:crypto';
import { execute, readJournal } from '../../txn/execute.js';
import { withLock } from '../../txn/lock.js';
import { recoverLocked } from '../../txn/recover-run.js';
import { XbError } from '../../errors.js';
import type { Context } from '../../context.js';
import { createRunner, type Runner } from '../../exec/runner.js';
import { runDir } from '../../exec/paths.js';
import { XEN_PORT_MAC } from '../../model/net.js';
import { step, type Step } from '../../plan/steps.js';

/** The journal's `what`: how recovery tells our runs from an interrupted apply. */
export const PROBE_WHAT = 'verify --traffic probe ports';

export interface ProbePort {
  /** The bridge-side end, in the verified namespace. */
  port: string;
  bridge: string;
  /** The guest-side end, in the private namespace. */
  peer: string;
  mac: string;
  /** VIDs the port carries tagged (filtering bridges: its VLAN entries; the PVID stays the bridge's default). */
  vids: number[];
  filtering: boolean;
  /** The bridge's MTU: a smaller port would lower a bridge whose MTU follows its ports'. */
  mtu: number;
}

export interface ProbeNamespace {
  ns: string;
  /** Runs ping/arping and `ip` inside the private namespace. */
  runner: Runner;
}

let serial = 0;

/** Names unique on the host: the namespace is global, the ports live in the verified namespace. */
export const probeNames = (count: number): { ns: string; ports: string[]; peers: string[]; macs: string[] } => {
  const id = `${process.pid}${(serial++ % 36).toString(36)}`;
  const idx = [...Array(count).keys()];
  return {
    ns: `xbprobe-${id}`,
    ports: idx.map((i) => `xbp${i.toString(36)}-${id}`.slice(0, 15)),
    peers: idx.map((i) => `eth${i}`),
    // Locally administered unicast, random per run: ARP probes are known by it.
    macs: idx.map(() => `02:${[...randomBytes(5)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`),
  };
};

const namespaceSteps = (ns: string): Step[] => [step({ kind: 'addNetns', name: ns })];

/**
 * Deleting the port deletes its peer, its master and its VLAN entries with it. `alsoNs`: the ports'
 * journal also deletes the namespace (which works from inside --netns), so `rollback --netns NS`
 * alone leaves nothing behind.
 */
const portSteps = (ns: string, ports: ProbePort[], alsoNs: boolean): Step[] => [
  ...ports.flatMap((p, i) => [
    // Xen's vif MAC on the bridge side: a bridge without a fixed MAC takes its lowest port's, and a
    // probe port must never change it (dom0's neighbours would lose it while the port exists). The
    // bridge's MTU likewise: a 1500-byte port would shrink a jumbo bridge, and dom0's path on it.
    step({ kind: 'addVeth', dev: p.port, mac: XEN_PORT_MAC, mtu: p.mtu, peer: p.peer, peerMac: p.mac, peerNetns: ns }, [
      { kind: 'delLink', dev: p.port },
      ...(alsoNs && i === 0 ? [{ kind: 'delNetns', name: ns } as const] : []),
    ]),
    step({ kind: 'setMaster', dev: p.port, master: p.bridge }, []),
    step({ kind: 'setUp', dev: p.port, up: true }, []),
  ]),
  ...ports.filter((p) => p.filtering).flatMap((p) => p.vids.map((vid) => step({ kind: 'addVlanEntry', entry: { dev: p.port, vid, pvid: false, untagged: false } }, []))),
];

interface Scope {
  runner: Runner;
  dir: string;
}

const scopesOf = (ctx: Context): { host: Scope; own: Scope } => {
  const own = { runner: ctx.runner, dir: ctx.runDir };
  return { own, host: ctx.runner.netns === undefined ? own : { runner: ctx.host, dir: runDir(undefined, ctx.runDirRoot) } };
};

/** Undoes a probe run that died; refuses to touch (or overwrite) an interrupted apply's journal. */
const recover = async (s: Scope): Promise<string[]> => {
  const j = readJournal(s.dir);
  if (!j) return [];
  // Its own undo, interrupted, is named after it ("rollback of …").
  if (!j.what.endsWith(PROBE_WHAT)) {
    throw new XbError('state', `an interrupted ${j.what} (pid ${j.pid}, ${j.started}) has left its journal: probe ports cannot be added now`, {
      detail: ['run "xenbridge rollback" (or apply again), then verify'],
    });
  }
  const r = await recoverLocked(s.runner, s.dir);
  return [`removed the probe ports of an earlier verify (pid ${j.pid}) that was interrupted: ${r.undone} step(s) undone`];
};

/** Undoes this run's own journal (an undo killed halfway is simply run again by recovery). */
const release = async (s: Scope): Promise<void> => {
  const j = readJournal(s.dir);
  if (j?.what !== PROBE_WHAT || j.pid !== process.pid) return;
  await recoverLocked(s.runner, s.dir);
};

/** The ends inside the private namespace: up, with one VLAN device per tagged VID (their names: peer.VID). */
const configureInside = async (inside: Runner, ports: ProbePort[], tagged: Map<string, number[]>, extra: string[]): Promise<Set<string>> => {
  const lines = ['link set dev lo up', ...ports.map((p) => `link set dev ${p.peer} up`)];
  for (const p of ports) {
    for (const v of tagged.get(p.port) ?? []) lines.push(`link add link ${p.peer} name ${p.peer}.${v} up type vlan id ${v}`);
  }
  lines.push(...extra);
  // -force: a kernel without 802.1Q refuses the VLAN devices; the untagged probes still run.
  await inside.batch('ip', lines, { force: true });
  const r = await inside.batch('ip', ['link show'], { json: true });
  const names = r.ok ? (JSON.parse(r.stdout.trim() || '[]') as { ifname?: string }[]).flatMap((l) => (l.ifname ? [l.ifname] : [])) : [];
  return new Set(names);
};

export interface ProbeRunContext {
  probe: ProbeNamespace;
  /** Devices that exist in the private namespace (a VLAN device the kernel refused is absent). */
  present: Set<string>;
  notes: string[];
}

/**
 * Adds the ports, runs `fn`, removes them: the whole time under the lock (an apply or a vif hook
 * waits those seconds), so nothing else reads or replaces the journal that says they exist.
 */
export const withProbePorts = async <T>(
  ctx: Context, ns: string, ports: ProbePort[], tagged: Map<string, number[]>, fn: (c: ProbeRunContext) => Promise<T>, inside6: string[] = [],
): Promise<T> => {
  const { host, own } = scopesOf(ctx);
  const locked = (s: Scope, inner: () => Promise<T>): Promise<T> => withLock(s.dir, inner, ctx.lockTimeoutMs);
  const body = async (): Promise<T> => {
    const notes = [...(host === own ? [] : await recover(host)), ...(await recover(own))];
    const nsSteps = namespaceSteps(ns);
    const steps = portSteps(ns, ports, host !== own);
    if (host !== own) await execute(host.runner, host.dir, nsSteps, PROBE_WHAT);
    try {
      await execute(own.runner, own.dir, host === own ? [...nsSteps, ...steps] : steps, PROBE_WHAT);
      try {
        const inside = createRunner(ns, { env: ctx.env });
        const present = await configureInside(inside, ports, tagged, inside6);
        return await fn({ probe: { ns, runner: inside }, present, notes });
      } finally {
        await release(own);
      }
    } finally {
      if (host !== own) await release(host);
    }
  };
  return host === own ? locked(own, body) : locked(host, () => locked(own, body));
};
