/** Per-interface IPv6 settings (routers' advertisements, SLAAC), read where /proc/sys/net is the namespace's. */
import { IPV6_CONF_READ } from '../exec/batch-text.js';
import type { Runner } from '../exec/runner.js';
import { XbError } from '../errors.js';

export interface Ipv6Conf {
  /** 0: ignore routers' advertisements; 1: accept them unless forwarding; 2: accept them even when forwarding. */
  acceptRa: number;
  /** SLAAC: make addresses from advertised prefixes. */
  autoconf: number;
  forwarding: number;
}

/** `default` is what a link the plan creates starts with. */
export const CONF_DEFAULT = 'default';

/** Whether the interface takes routers' advertisements as its settings stand. */
export const acceptsRa = (c: Ipv6Conf): boolean => c.acceptRa === 2 || (c.acceptRa === 1 && c.forwarding === 0);

/** The sysctl batch's `get` lines' output -> settings by interface name. */
export const parseIpv6Conf = (text: string): Record<string, Ipv6Conf> => {
  const out: Record<string, Ipv6Conf> = {};
  for (const line of text.split('\n').filter((l) => l.trim() !== '')) {
    const [name = '', ...vals] = line.trim().split(/\s+/);
    const n = vals.map(Number);
    if (n.length !== IPV6_CONF_READ.length || n.some((v) => !Number.isInteger(v))) throw new XbError('bug', `cannot read the IPv6 settings of ${name}: "${line}"`);
    const [acceptRa = 0, autoconf = 0, forwarding = 0] = n;
    out[name] = { acceptRa, autoconf, forwarding };
  }
  return out;
};

/** The settings of `names` (those that exist) and of new links. Without them IPv6 is off here. */
export const readIpv6Conf = async (runner: Runner, names: string[]): Promise<Record<string, Ipv6Conf>> => {
  const r = await runner.batch('sysctl', [CONF_DEFAULT, ...new Set(names)].map((n) => `get ${n}`));
  if (!r.ok) throw new XbError('command', `cannot read the IPv6 settings: ${r.stderr.split('\n')[0] ?? ''}`, { detail: r.stderr.split('\n').filter(Boolean) });
  const conf = parseIpv6Conf(r.stdout);
  if (!conf[CONF_DEFAULT]) throw new XbError('state', 'IPv6 is disabled on this host (no /proc/sys/net/ipv6): slaac and dhcp6 need it');
  return conf;
};
