/** `xenbridge verify --traffic [--listen S]`: the options and the run, kept out of the core commands. */
import { existsSync } from 'node:fs';
import { XbError } from '../errors.js';
import { ifnameProblem } from '../model/ifname.js';
import { listenTraffic } from '../verify/traffic/listen.js';
import type { NetworkSel } from '../verify/traffic/paths.js';
import { renderListen, renderTraffic, trafficJson } from '../verify/traffic/report.js';
import { verifyTraffic } from '../verify/traffic/traffic.js';
import { discoverLive } from '../verify/traffic/wire.js';
import { configPath, contextFor, topologyFor, type CommonOpts } from './context.js';
import { json, out, tick } from './output.js';

/** Seconds the uplinks are listened to before a discovered layout is probed. */
const DISCOVER_LISTEN = 1;

/** No -c, no $XENBRIDGE_CONFIG and no default file: the layout is discovered. */
const wantsDiscover = (o: Record<string, unknown>): boolean =>
  o.discover === true || (o.config === undefined && !process.env.XENBRIDGE_CONFIG && !existsSync(configPath(o as CommonOpts)));

const networks = (raw: unknown): NetworkSel[] =>
  (Array.isArray(raw) ? raw : []).flatMap((v: unknown) => String(v).split(',')).map((v) => {
    if (v === 'untagged') return v;
    const n = Number(v);
    if (!/^\d{1,4}$/.test(v) || n < 1 || n > 4094) throw new XbError('usage', `--vlan: "${v}" is not a VLAN ID (1-4094) or "untagged"`);
    return n;
  });

const vifNames = (raw: unknown): string[] =>
  (Array.isArray(raw) ? raw : []).flatMap((v: unknown) => String(v).split(',')).map((v) => {
    const why = ifnameProblem(v);
    if (why) throw new XbError('usage', `--vif: ${why}`);
    return v;
  });

const seconds = (raw: unknown): number => {
  const n = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(String(raw)) || n <= 0 || n > 3600) throw new XbError('usage', `--listen must be a number of seconds (up to 3600), got "${String(raw)}"`);
  return n;
};

/** Runs the traffic verify and prints it; returns the exit code (3 when any path fails). */
export const runTrafficVerify = async (o: Record<string, unknown>): Promise<number> => {
  if (!o.traffic && o.listen === undefined) throw new XbError('usage', '--vlan, --vif, --pcap-dir and --discover go with --traffic');
  if (o.discover && o.config !== undefined) throw new XbError('usage', '--discover reads the layout off the live state: it takes no -c FILE');
  if (process.getuid?.() !== 0) throw new XbError('usage', 'verify --traffic captures packets and needs root (CAP_NET_RAW and CAP_NET_ADMIN)');
  const ctx = contextFor(o as CommonOpts);
  const { runner } = ctx;
  const sel = networks(o.vlan);
  const found = wantsDiscover(o) ? await discoverLive(runner, o.listen === undefined ? DISCOVER_LISTEN : 0) : undefined;
  const t = found?.topology ?? (await topologyFor(o as CommonOpts));
  const common = { networks: sel, vifs: vifNames(o.vif).map((vif) => ({ vif })), pcapDir: o.pcapDir as string | undefined };
  if (o.listen !== undefined) {
    const r = await listenTraffic(t, ctx, { ...common, seconds: seconds(o.listen) });
    if (o.json) json(r);
    else out(renderListen(r, tick).join('\n'));
    return r.ok ? 0 : 3;
  }
  const r = await verifyTraffic(t, ctx, { ...common, guests: o.probePorts !== false, wire: found?.wire });
  if (o.json) json(trafficJson(r));
  else out(renderTraffic(r, tick).join('\n'));
  return r.ok ? 0 : 3;
};
