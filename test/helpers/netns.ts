/**
 * Throwaway namespaces: a "switch" namespace whose sw0 is the far end of dom0's "NIC" eth0, like
 * the upstream switch port. Each sandbox gets unique namespace names and its own run directory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sh } from './sh.js';
import { afterEach, beforeEach } from 'vitest';

let counter = 0;

export interface Sandbox {
  sw: string;
  dom0: string;
  runDir: string;
  env: Record<string, string>;
  ip(cmd: string): Promise<string>;
  inSw(cmd: string): Promise<string>;
  inDom0(cmd: string): Promise<string>;
  cleanup(): Promise<void>;
}

export const makeSandbox = async (opts: { dom0Addr?: string; swAddr?: string; gateway?: boolean } = {}): Promise<Sandbox> => {
  const id = `${process.pid}x${counter++}`;
  const sw = `xbsw${id}`;
  const dom0 = `xbd0${id}`;
  const runDir = mkdtempSync(join(tmpdir(), 'xenbridge-run-'));
  await sh(`ip netns add ${sw} && ip netns add ${dom0}`);
  // No IPv6 DAD: a NIC that flaps would otherwise show "tentative" addresses for a second or two.
  for (const ns of [sw, dom0]) await sh(`ip netns exec ${ns} sysctl -qw net.ipv6.conf.default.dad_transmits=0 net.ipv6.conf.all.dad_transmits=0`);
  await sh(`ip -n ${sw} link add name sw0 type veth peer name eth0 netns ${dom0}`);
  await sh(`ip -n ${sw} link set lo up && ip -n ${sw} link set sw0 up && ip -n ${sw} addr add ${opts.swAddr ?? '192.0.2.1/24'} dev sw0`);
  await sh(`ip -n ${dom0} link set lo up && ip -n ${dom0} addr add ${opts.dom0Addr ?? '192.0.2.10/24'} dev eth0 && ip -n ${dom0} link set eth0 up`);
  if (opts.gateway !== false) await sh(`ip -n ${dom0} route add default via 192.0.2.1 dev eth0`);
  return {
    sw, dom0, runDir,
    env: { XENBRIDGE_RUN_DIR: runDir, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    ip: (cmd) => sh(`ip -n ${dom0} ${cmd}`),
    inSw: (cmd) => sh(`ip netns exec ${sw} ${cmd}`),
    inDom0: (cmd) => sh(`ip netns exec ${dom0} ${cmd}`),
    cleanup: async () => {
      await sh(`ip netns del ${sw} 2>/dev/null; ip netns del ${dom0} 2>/dev/null; true`);
      rmSync(runDir, { recursive: true, force: true });
    },
  };
};

/** A sandbox with a topology file in its run directory. */
export const sandboxWithTopology = async (topology: string): Promise<{ sb: Sandbox; cfg: string }> => {
  const sb = await makeSandbox();
  const cfg = join(sb.runDir, 'topology.yaml');
  writeFileSync(cfg, topology);
  return { sb, cfg };
};

/**
 * A fresh sandbox with the topology for each test of the file, removed after it; each one is handed
 * to use (to set the file's own variables).
 */
export const sandboxEach = (topology: string, use: (s: { sb: Sandbox; cfg: string }) => void): void => {
  let sb: Sandbox | undefined;
  beforeEach(async () => {
    const s = await sandboxWithTopology(topology);
    sb = s.sb;
    use(s);
  });
  afterEach(async () => sb?.cleanup());
};

/**
 * Routes the kernel adds for a link (fe80::/64, ff00::/8) are listed in the order links came up, so
 * taking one of several links down and up reorders them with nothing else changed. With
 * anyRouteOrder the route list is sorted; links and addresses stay byte for byte.
 */
const sortRoutes = (text: string): string => {
  const lines = text.split('\n');
  const routes = (JSON.parse(lines[2] ?? '[]') as unknown[]).map((r) => JSON.stringify(r)).sort();
  return [lines[0], lines[1], `[${routes.join(',')}]`].join('\n');
};

/**
 * The namespace as `ip -j -d link show` + `ip -j addr show` + routes print it, once settled: a link
 * that went down and up re-runs IPv6 DAD, and carrier/operstate lag a moment behind.
 */
export const dump = async (ns: string, opts: { anyRouteOrder?: boolean; waitCarrier?: boolean; unsettledOk?: boolean } = {}): Promise<string> => {
  let text = '';
  for (let i = 0; i < 50; i++) {
    text = await sh(`ip -n ${ns} -j -d link show; ip -n ${ns} -j addr show; ip -n ${ns} -j route show table all`);
    // An admin-up link may report its carrier up to a second late (linkwatch) on a busy machine;
    // wait for it, but only 2 s: a bridge without ports is up with no carrier for good.
    // waitCarrier also waits for links that are down on this side to see their peer.
    const carrierLag = (i < 20 && /"flags":\["NO-CARRIER"[^\]]*"UP"/.test(text)) || (opts.waitCarrier === true && text.includes('"NO-CARRIER"'));
    if (!text.includes('"tentative"') && !text.includes('LOWERLAYERDOWN') && !text.includes('"dadfailed"') && !carrierLag) return opts.anyRouteOrder ? sortRoutes(text) : text;
    await new Promise((r) => setTimeout(r, 100));
  }
  // A half-undone host may keep a link whose lower device is gone down for good: compare it as it is.
  if (opts.unsettledOk) return opts.anyRouteOrder ? sortRoutes(text) : text;
  throw new Error(`${ns} did not settle (IPv6 DAD or carrier)`);
};

/** Another "NIC" in dom0's namespace: a veth whose peer sw<name> sits in the switch namespace. */
export const addNic = async (sb: Sandbox, name: string, opts: { mac?: string; addr?: string; up?: boolean } = {}): Promise<void> => {
  await sh(`ip -n ${sb.sw} link add name sw${name} type veth peer name ${name} netns ${sb.dom0}`);
  await sh(`ip -n ${sb.sw} link set sw${name} up`);
  if (opts.mac) await sb.ip(`link set dev ${name} address ${opts.mac}`);
  if (opts.addr) await sb.ip(`addr add ${opts.addr} dev ${name}`);
  if (opts.up !== false) await sb.ip(`link set dev ${name} up`);
};

/** The MAC of a link in dom0's namespace. */
export const macOf = async (sb: Sandbox, name: string): Promise<string> => JSON.parse(await sb.ip(`-j link show dev ${name}`))[0].address;

/** A dump less what a bridge moves by itself while it runs (its timers): for comparing a namespace with bridges over time. */
export const withoutTimers = (text: string): string => text.replace(/"(hello_timer|tcn_timer|topology_change_timer|gc_timer)":[\d.]+/g, '"$1":_');
