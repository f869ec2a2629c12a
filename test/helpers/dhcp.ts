/**
 * A DHCP server (dnsmasq, DHCP only) on the switch side of a sandbox, and a dhcpcd the test runs
 * itself on the NIC (the host's own client before the takeover), with its files in the sandbox.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { macOf, type Sandbox } from './netns.js';
import { runs, sh } from './sh.js';

export const RESERVED = '192.0.2.77';

export interface DhcpBed {
  mac: string;
  /** dnsmasq's log lines that name a DHCP message, from `since` (a line count) on. */
  messages(since?: number): string[];
  stop(): Promise<void>;
}

/**
 * eth0 loses its static address: the server reserves RESERVED for its MAC, leases last dnsmasq's
 * minimum of 2 minutes. /etc/netns/<dom0>/resolv.conf is what `ip netns exec` shows the client as
 * /etc/resolv.conf, so its hooks never reach the machine's (the server sends no DNS option either).
 */
export const startDhcpServer = async (sb: Sandbox): Promise<DhcpBed> => {
  await sb.ip('addr flush dev eth0 scope global');
  mkdirSync(`/etc/netns/${sb.dom0}`, { recursive: true });
  writeFileSync(`/etc/netns/${sb.dom0}/resolv.conf`, '');
  const mac = await macOf(sb, 'eth0');
  const log = join(sb.runDir, 'dnsmasq.log');
  const pid = join(sb.runDir, 'dnsmasq.pid');
  writeFileSync(log, '');
  await sb.inSw(`dnsmasq --port=0 --no-resolv --no-hosts --interface=sw0 --bind-interfaces --dhcp-authoritative --dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,2m --dhcp-host=${mac},${RESERVED} --dhcp-option=3,192.0.2.1 --dhcp-option=6 --dhcp-leasefile=${sb.runDir}/dnsmasq.leases --pid-file=${pid} --log-dhcp --log-facility=${log}`);
  const messages = (since = 0): string[] => readFileSync(log, 'utf8').split('\n').filter((l) => / DHCP[A-Z]+\(sw0\)/.test(l)).slice(since);
  return {
    mac, messages,
    stop: async () => {
      await sh(`[ ! -e ${pid} ] || kill $(cat ${pid}) 2>/dev/null; true`);
      rmSync(`/etc/netns/${sb.dom0}`, { recursive: true, force: true });
    },
  };
};

/**
 * A dhcpcd -FAM on eth0 in dom0's namespace, its files in DIR/run and DIR/db, bound over
 * /run/dhcpcd and /var/lib/dhcpcd in a mount namespace of its own (as xenbridge runs its client).
 * -b: it backgrounds at once; if it does not within 30 s, the start fails naming this command.
 */
export const startDhcpcd = (sb: Sandbox, dir: string, fam: 4 | 6, conf: string[]): Promise<string> =>
  sh(`mkdir -p ${dir}/run ${dir}/db /run/dhcpcd && printf '%s\\n' ${conf.join(' ')} >${dir}/dhcpcd.conf && timeout 30 ip netns exec ${sb.dom0} unshare -m sh -c 'mount --bind "$1/run" /run/dhcpcd && mount --bind "$1/db" /var/lib/dhcpcd && shift && exec dhcpcd "$@"' sh ${dir} -${fam} -b -f ${dir}/dhcpcd.conf eth0 </dev/null >>${dir}/client.log 2>&1`);

/** The test's own dhcpcd on the NIC, its files in DIR/run and DIR/db (as xenbridge keeps its own). */
export const hostClient = (sb: Sandbox, dir: string) => ({
  start: () => startDhcpcd(sb, dir, 4, ['duid', 'persistent', 'noipv4ll', 'noarp']),
  /** SIGTERM: with persistent, dhcpcd leaves the address (as `dhcpcd -x` does under Debian's dhcpcd.conf). */
  stop: () => stopDhcpcd(`${dir}/run/eth0-4.pid`),
});

export const runsDhcpcd = (pid: string): boolean => runs(pid, 'dhcpcd');

/**
 * Ends the dhcpcd PIDFILE names: SIGTERM, and after 5 s on a loaded machine SIGKILL (which leaves
 * the address too, as persistent does). Fails, naming the pid, if it still runs 5 s after that.
 */
export const stopDhcpcd = (pidFile: string): Promise<string> => sh(`p=$(cat ${pidFile} 2>/dev/null) || exit 0; kill $p 2>/dev/null; gone() { ! { read -r _p _c st _r </proc/$p/stat; } 2>/dev/null || [ "$st" = Z ] || [ "$st" = X ]; }; i=0; while ! gone && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; gone || kill -9 $p; i=0; while ! gone && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; gone || { echo "dhcpcd $p still runs" >&2; exit 1; }`);

export const waitFor = async (what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
};

/** The address on dev with its remaining lifetime, if the namespace has it. */
export const leaseOn = async (sb: Sandbox, dev: string): Promise<{ local: string; valid: number } | undefined> => {
  const [l] = JSON.parse(await sb.ip(`-j -4 addr show dev ${dev}`)) as { addr_info: { local: string; valid_life_time: number; dynamic?: boolean }[] }[];
  const a = l?.addr_info.find((x) => x.local === RESERVED);
  return a ? { local: a.local, valid: a.valid_life_time } : undefined;
};
