/**
 * The probes, sent from dom0 with Debian's own tools: ping (ICMP echo from dom0's address on the
 * network, and a don't-fragment echo as large as the path's MTU) and arping (a broadcast request
 * that also shows whether the vif ports get the network's floods; sender 0.0.0.0 when dom0 has no
 * address there, which hosts answer as an RFC 5227 probe). IPv6 paths send ping -6: the echo, a
 * full-size echo with -M do (IPV6_PMTUDISC_DO: too large for the interface is a local error, never
 * a fragment) and, when vifs are checked, an echo to all-nodes from dom0's address, which every
 * port of the network floods and every guest with an address there answers.
 */
import { isXbError } from '../../errors.js';
import type { Runner } from '../../exec/runner.js';
import { ALL_NODES, echoPattern } from './match.js';
import { IPV6_ICMP_HEADERS, isLinkLocal } from './paths6.js';
import type { PathSpec, ProbeKind, ProbeRun } from './types.js';

const IPV4_ICMP_HEADERS = 28;

/** The probes a path needs: its primary one, the DF echo, and ARP when a vif must see the flood. */
type Planned = { probe: ProbeKind; cmd: string; args: string[] };

const probesFor6 = (p: PathSpec, nonce: Buffer, wait: string): Planned[] => {
  const ping = (probe: 'echo' | 'df' | 'mcast', extra: string[], target: string): Planned =>
    ({ probe, cmd: 'ping', args: ['-6', '-n', '-c', '1', '-W', wait, ...extra, '-p', echoPattern(nonce, p, probe).toString('hex'), target] });
  // A link-local target needs its interface; -I with the interface keeps every probe on the path's origin.
  const target = isLinkLocal(p.target) ? `${p.target}%${p.origin}` : p.target;
  return [
    ping('echo', ['-I', p.origin], target),
    ...(p.dfSize !== undefined ? [ping('df', ['-I', p.origin, '-M', 'do', '-s', String(p.dfSize - IPV6_ICMP_HEADERS)], target)] : []),
    // From dom0's address itself: the guests answer it from theirs (one of the same scope), which their guards check.
    ...(p.source !== undefined && p.hops.some((h) => h.role === 'vif') ? [ping('mcast', ['-I', p.source], `${ALL_NODES}%${p.origin}`)] : []),
  ];
};

export const probesFor = (p: PathSpec, nonce: Buffer, waitSeconds: number): Planned[] => {
  if (p.family === 6) return probesFor6(p, nonce, String(waitSeconds));
  const out: { probe: ProbeKind; cmd: string; args: string[] }[] = [];
  const wait = String(waitSeconds);
  const ping = (probe: 'echo' | 'df', extra: string[]): void => {
    out.push({ probe, cmd: 'ping', args: ['-n', '-c', '1', '-W', wait, '-I', p.origin, '-p', echoPattern(nonce, p, probe).toString('hex'), ...extra, p.target] });
  };
  if (p.primary === 'echo') ping('echo', []);
  if (p.dfSize !== undefined) ping('df', ['-M', 'do', '-s', String(p.dfSize - IPV4_ICMP_HEADERS)]);
  if (p.primary === 'arp' || p.hops.some((h) => h.role === 'vif')) {
    // arping's deadline is whole seconds only.
    out.push({ probe: 'arp', cmd: 'arping', args: ['-c', '1', '-w', String(Math.max(1, Math.ceil(waitSeconds))), '-I', p.origin, ...(p.source ? ['-s', p.source] : ['-D']), p.target] });
  }
  return out;
};

// Not -q: ping reports local errors ("message too long, mtu=1400") only without it.
// ping -6 -I DEV warns that the source "might be selected on device other than" DEV: not the reason it failed.
const firstLine = (text: string): string | undefined => text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('ping: Warning:'));

export const sendProbes = async (runner: Runner, p: PathSpec, nonce: Buffer, waitSeconds: number): Promise<ProbeRun[]> =>
  Promise.all(probesFor(p, nonce, waitSeconds).map(async ({ probe, cmd, args }): Promise<ProbeRun> => {
    const argv = [cmd, ...args];
    try {
      const r = await runner.run(cmd, args, { inNetns: true, timeoutMs: (waitSeconds + 3) * 1000 });
      const message = r.exitCode === 0 || (probe === 'arp' && !p.source && r.exitCode === 1) ? undefined : firstLine(r.stderr);
      return { probe, argv, exitCode: r.timedOut ? 124 : r.exitCode, message };
    } catch (e) {
      if (!isXbError(e)) throw e;
      return { probe, argv, exitCode: 127, message: e.message };
    }
  }));
