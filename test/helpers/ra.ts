/**
 * A router on the switch side of a sandbox: dnsmasq sending advertisements for 2001:db8::/64
 * (ra-only: SLAAC; or a stateful DHCPv6 range), every few seconds so that tests need not wait for
 * the next one long. /etc/netns/<dom0>/resolv.conf keeps a DHCPv6 client's hooks off the machine's.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDhcpcd, stopDhcpcd } from './dhcp.js';
import type { Sandbox } from './netns.js';
import { sh } from './sh.js';

export interface RaBed {
  /** dnsmasq's log lines that name a DHCPv6 message, from `since` (a line count) on. */
  messages(since?: number): string[];
  stop(): Promise<void>;
}

export const startRouter = async (sb: Sandbox, mode: 'slaac' | 'dhcp6'): Promise<RaBed> => {
  mkdirSync(`/etc/netns/${sb.dom0}`, { recursive: true });
  writeFileSync(`/etc/netns/${sb.dom0}/resolv.conf`, '');
  await sb.inSw('ip addr add 2001:db8::1/64 dev sw0 nodad');
  const log = join(sb.runDir, 'dnsmasq6.log');
  const pid = join(sb.runDir, 'dnsmasq6.pid');
  writeFileSync(log, '');
  const range = mode === 'slaac' ? '2001:db8::,ra-only,64,2m' : '2001:db8::100,2001:db8::1ff,64,2m';
  await sb.inSw(`dnsmasq --port=0 --no-resolv --no-hosts --interface=sw0 --bind-interfaces --enable-ra --ra-param=sw0,4,120 --dhcp-range=${range} --dhcp-leasefile=${sb.runDir}/dnsmasq6.leases --pid-file=${pid} --log-dhcp --log-facility=${log}`);
  return {
    messages: (since = 0) => readFileSync(log, 'utf8').split('\n').filter((l) => /(SOLICIT|REQUEST|RENEW|REPLY|ADVERTISE)\(sw0\)/.test(l)).slice(since),
    stop: async () => {
      await sh(`[ ! -e ${pid} ] || kill $(cat ${pid}) 2>/dev/null; true`);
      rmSync(`/etc/netns/${sb.dom0}`, { recursive: true, force: true });
    },
  };
};

export interface Addr6 {
  local: string;
  prefixlen: number;
  valid: number;
  flags: string[];
}

/** The test's own dhcpcd -6 on the NIC (the host's client before the takeover), its files in DIR. */
export const hostClient6 = (sb: Sandbox, dir: string) => ({
  start: () => startDhcpcd(sb, dir, 6, ['duid', 'persistent', 'noipv6rs', 'ia_na']),
  /** SIGTERM: with persistent, dhcpcd leaves the address. */
  stop: () => stopDhcpcd(`${dir}/run/eth0-6.pid`),
});

/** The server's DHCPv6 leases as "IAID address DUID" (without the expiry, which renewals change). */
export const leases6 = (sb: Sandbox): string[] =>
  readFileSync(join(sb.runDir, 'dnsmasq6.leases'), 'utf8').split('\n').filter((l) => l.includes(':') && !l.startsWith('duid ')).map((l) => {
    const f = l.split(' ');
    return [f[1], f[2], f[4]].join(' ');
  });

/** dev's global IPv6 addresses with their remaining lifetimes. */
export const globals6 = async (sb: Sandbox, dev: string): Promise<Addr6[]> => {
  const [l] = JSON.parse(await sb.ip(`-j -6 addr show dev ${dev} scope global`)) as { addr_info: Record<string, unknown>[] }[];
  return (l?.addr_info ?? []).map((a) => ({
    local: String(a.local), prefixlen: Number(a.prefixlen), valid: Number(a.valid_life_time),
    flags: ['nodad', 'dynamic', 'mngtmpaddr', 'noprefixroute'].filter((f) => a[f] === true),
  }));
};

/** /proc/sys/net/ipv6/conf/DEV/{accept_ra,autoconf} of every link in dom0's namespace. */
export const raSettings = async (sb: Sandbox): Promise<string> =>
  sb.inDom0(`sh -c 'for d in /proc/sys/net/ipv6/conf/*; do echo "\${d##*/} $(cat $d/accept_ra) $(cat $d/autoconf)"; done'`);

/** A dump with what time changes taken out: the lifetimes of addresses and routes that have one. */
export const timeless = (dump: string): string =>
  dump.replace(/"(valid_life_time|preferred_life_time)":(?!4294967295)\d+/g, '"$1":_').replace(/"expires":\d+/g, '"expires":_');
