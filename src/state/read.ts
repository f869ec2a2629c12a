/** Reads the live state: one `ip -j -d -batch`, an address dump and, when VLAN entries matter, `bridge -j vlan show`, side by side. */
import { release } from 'node:os';
import { XbError } from '../errors.js';
import { ADDR_DUMP } from '../exec/batch-text.js';
import type { Runner } from '../exec/runner.js';
import type { Dom0Spec } from '../model/topology.js';
import { readDhcpClients } from './dhcp-clients.js';
import { readIpv6Conf } from './ipv6-conf.js';
import { parseBridgeVlans, parseLinks, parseRoutes, withAddrs } from './parse.js';
import { sysfsLookup, withDevices } from './sysfs.js';
import type { HostState, Link } from './types.js';

// `table main` makes ip assume IPv4 (a batch line cannot say -6), so IPv6 routes are read from every
// table and parseRoutes keeps main's; `type unicast` leaves out the local and multicast routes every
// address and link has, which on a host with thousands of links are most of the dump.
const READ_LINES = ['link show', 'route show table main root 0.0.0.0/0', 'route show table all type unicast root ::/0'];

const parseJsonLine = (line: string | undefined, what: string): unknown => {
  try {
    return JSON.parse(line ?? '[]');
  } catch (e) {
    throw new XbError('bug', `cannot parse the JSON of "${what}"`, { cause: e });
  }
};

export interface ReadOptions {
  /**
   * The kernel release planning assumes (the context's: the vif hook and apply must not disagree);
   * default this one's. Tests reach the EBUSY (down-rename-up) path of new kernels with it.
   */
  kernel?: string;
  /** A directory of ours where the reads' output may go through files (exec/scratch.ts): the run directory. */
  scratchDir?: string;
}

const failed = (runner: Runner, stderr: string): XbError => {
  const first = stderr.split('\n')[0] ?? '';
  if (runner.netns !== undefined && /netns|namespace/i.test(stderr)) {
    return new XbError('usage', `--netns ${runner.netns}: no such network namespace`, { detail: [first] });
  }
  return new XbError('command', `cannot read the network state: ${first}`, { detail: stderr.split('\n').filter(Boolean) });
};

const jsonLines = (stdout: string): string[] => stdout.split('\n').filter((l) => l.trim() !== '');

// Ranges as the kernel keeps them: a 1000-VID trunk port is one object, not a thousand.
const VLAN_READ = { json: true, compressVlans: true };
const vlanEntriesOf = (ok: boolean, stdout: string): HostState['vlans'] => (ok ? parseBridgeVlans(parseJsonLine(stdout.trim(), 'bridge vlan show')) : []);

/** Every port's VLAN entries. */
export const readVlanEntries = async (runner: Runner): Promise<HostState['vlans']> => {
  const b = await runner.batch('bridge', ['vlan show'], VLAN_READ);
  return vlanEntriesOf(b.ok, b.stdout);
};

const nsArgs = (runner: Runner): string[] => (runner.netns === undefined ? [] : ['-n', runner.netns]);

interface Dumps {
  lines: string[];
  addrs: string;
  vlans?: HostState['vlans'];
  /** iproute2 said a dump was interrupted (see DUMP_TRIES). */
  interrupted: boolean;
}

/**
 * iproute2 prints this, and exits 0, when the kernel flagged a dump as changed while it ran: on
 * Debian 12's kernel a link or address deleted meanwhile can make the dump skip another one, which
 * a plan would then make again (or a check after a change call missing). Read again, a few times;
 * a host that never stays still that long is read as it is, as before.
 */
const INTERRUPTED = 'Dump was interrupted';
const DUMP_TRIES = 3;
const interrupted = (...parts: ({ stderr: string } | undefined)[]): boolean => parts.some((p) => p?.stderr.includes(INTERRUPTED) === true);

const tried = async <T>(read: () => Promise<T>, wasInterrupted: (t: T) => boolean): Promise<T> => {
  for (let tries = 1; ; tries++) {
    const t = await read();
    if (tries >= DUMP_TRIES || !wasInterrupted(t)) return t;
  }
};

/**
 * The links, the addresses and, asked for, the VLAN entries under one shell started from here, each
 * through a file in dir: under emulation a process started from Node costs more than what it reads.
 * Undefined when the files cannot be made or came back cut short (a full file system): then apart.
 */
const readTogether = async (runner: Runner, dir: string, vlans: boolean): Promise<Dumps | undefined> => {
  const out = await runner.reads([
    { tool: 'ip', lines: READ_LINES, opts: { json: true, details: true } },
    { script: ADDR_DUMP, args: nsArgs(runner) },
    ...(vlans ? [{ tool: 'bridge' as const, lines: ['vlan show'], opts: VLAN_READ }] : []),
  ], dir);
  if (!out) return undefined;
  const [r, a, b] = out;
  if (!r || r.exitCode !== 0) throw failed(runner, r?.stderr ?? '');
  if (!a || a.exitCode !== 0) throw failed(runner, a?.stderr ?? '');
  const lines = jsonLines(r.stdout);
  const cut = lines.length !== READ_LINES.length || ![r, a, ...(b?.exitCode === 0 ? [b] : [])].every((x) => x.stdout.endsWith('\n'));
  return cut ? undefined : { lines, addrs: a.stdout, vlans: b && vlanEntriesOf(b.exitCode === 0, b.stdout), interrupted: interrupted(r, a, b) };
};

/** The same apart, through pipes: one process each. */
const readApart = async (runner: Runner, vlans: boolean): Promise<Dumps> => {
  const entries = vlans ? readVlanEntries(runner) : undefined;
  // Addresses without -d (`addr show -d` prints every link's details a second time; they come from
  // `link show`, which also gives the IPv6 address generation mode `addr show` leaves out), and without
  // a second dump of the links (ADDR_DUMP).
  const [r, a] = await Promise.all([
    runner.batch('ip', READ_LINES, { json: true, details: true }),
    runner.run('sh', ['-c', ADDR_DUMP, 'sh', ...nsArgs(runner)]),
  ]);
  // Settled before anything throws: no read may run on after a failed one has been reported.
  const v = await entries?.then((x) => ({ x }), (e: unknown) => ({ e }));
  if (!r.ok) throw failed(runner, r.stderr);
  if (a.exitCode !== 0) throw failed(runner, a.stderr);
  if (v && 'e' in v) throw v.e;
  return { lines: jsonLines(r.stdout), addrs: a.stdout, vlans: v?.x, interrupted: interrupted(r, a) };
};

export const readState = async (runner: Runner, opts: ReadOptions & { bridgeVlans?: boolean } = {}): Promise<HostState> => {
  const vlans = opts.bridgeVlans === true;
  const d = await tried(async () => (opts.scratchDir === undefined ? undefined : await readTogether(runner, opts.scratchDir, vlans)) ?? (await readApart(runner, vlans)), (x) => x.interrupted);
  const [links, v4, v6] = d.lines;
  const state: HostState = {
    links: withDevices(withAddrs(parseLinks(parseJsonLine(links, 'ip link show')), parseJsonLine(d.addrs.trim(), 'ip addr showdump')), sysfsLookup({ netns: runner.netns })),
    routes: [...parseRoutes(parseJsonLine(v4, 'ip route show'), 4), ...parseRoutes(parseJsonLine(v6, 'ip -6 route show'), 6)],
    vlans: d.vlans ?? [],
    kernel: opts.kernel ?? release(),
  };
  if (!d.vlans && state.links.some((l) => l.bridge?.vlanFiltering)) state.vlans = await readVlanEntries(runner);
  return state;
};

/** What planning a topology needs: VLAN entries only when a bridge filters (one more process). */
export const readStateFor = async (t: { bridges: { mode: string; dom0: Dom0Spec }[] }, ctx: { runner: Runner; kernel: string; runDir: string }): Promise<HostState> => {
  const ra = t.bridges.filter((b) => b.dom0.slaac === true || b.dom0.dhcp6 === true).map((b) => b.dom0.ifname);
  return {
    ...(await readState(ctx.runner, { bridgeVlans: t.bridges.some((b) => b.mode === 'filtering'), kernel: ctx.kernel, scratchDir: ctx.runDir })),
    dhcp: readDhcpClients(ctx.runDir),
    ...(ra.length > 0 ? { ipv6Conf: await readIpv6Conf(ctx.runner, ra) } : {}),
  };
};

/**
 * The vif hook's fast path: only the named links and the ports of the named bridges, in one
 * `ip -batch -force` (a missing device prints nothing), plus one port's VLAN entries if asked.
 * Callers pass validated interface names only: each becomes part of a batch line.
 */
export const readLinks = async (runner: Runner, q: ReadOptions & { names: string[]; masters?: string[]; vlansOf?: string }): Promise<HostState> => {
  const lines = [...new Set(q.names)].map((n) => `link show dev ${n}`).concat([...new Set(q.masters ?? [])].map((m) => `link show master ${m}`));
  const r = await tried(() => runner.batch('ip', lines, { json: true, details: true, force: true }), (x) => interrupted(x));
  if (!r.ok && runner.netns !== undefined && /netns|namespace/i.test(r.stderr)) {
    throw new XbError('usage', `network namespace ${runner.netns} does not exist`);
  }
  const seen = new Map<string, Link>();
  for (const line of jsonLines(r.stdout)) {
    for (const l of parseLinks(parseJsonLine(line, 'ip link show'))) seen.set(l.name, l);
  }
  const state: HostState = { links: [...seen.values()], routes: [], vlans: [], kernel: q.kernel ?? release() };
  if (q.vlansOf !== undefined && seen.has(q.vlansOf)) {
    const b = await runner.batch('bridge', [`vlan show dev ${q.vlansOf}`], { json: true });
    if (b.ok) state.vlans = parseBridgeVlans(parseJsonLine(b.stdout.trim() || '[]', 'bridge vlan show'));
  }
  return state;
};
