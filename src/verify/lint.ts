/** Known-bad layouts, found in the live state whatever the file says. */
import type { HostState, Link } from '../state/types.js';
import { XEN_PORT_MAC } from '../model/net.js';
import { lintBonds } from './lint-bond.js';

export interface Finding {
  level: 'error' | 'warning';
  rule: string;
  message: string;
  fix: string;
}

const portOf = (s: HostState, l: Link): string | undefined => (l.link ? s.links.find((x) => x.name === l.link)?.master : undefined);

export const lint = (s: HostState): Finding[] => {
  const out: Finding[] = [];
  for (const l of s.links) {
    const bridge = l.kind === 'vlan' ? portOf(s, l) : undefined;
    if (bridge) {
      out.push({
        level: 'error', rule: 'vlan-on-bridge-port',
        message: `${l.name} (VLAN ${l.vlanId}) sits on ${l.link}, a port of ${bridge}: it takes VLAN ${l.vlanId}'s frames before ${bridge} sees them, so guests on ${bridge} lose VLAN ${l.vlanId}`,
        fix: `put the VLAN device on dom0's veth end instead (xenbridge apply does), or use mode: filtering`,
      });
    }
    if (l.master && l.addrs.some((a) => !a.managed)) {
      out.push({
        level: 'warning', rule: 'address-on-port',
        message: `${l.name} is a port of ${l.master} but still has ${l.addrs.filter((a) => !a.managed).map((a) => `${a.local}/${a.prefixlen}`).join(', ')}: a bridge port never receives for its own addresses`,
        fix: `move the addresses to dom0's interface`,
      });
    }
    if (l.kind === 'bridge' && l.up && !s.links.some((x) => x.master === l.name)) {
      out.push({ level: 'warning', rule: 'empty-bridge', message: `bridge ${l.name} has no ports`, fix: 'check its uplink' });
    }
    if (l.master && l.up && !l.carrier) {
      out.push({ level: 'warning', rule: 'port-no-carrier', message: `${l.name}, a port of ${l.master}, is up but has no carrier`, fix: 'check the cable or the peer' });
    }
    if (l.kind === 'bridge' && l.mac === XEN_PORT_MAC) {
      out.push({
        level: 'warning', rule: 'bridge-mac',
        message: `bridge ${l.name} took fe:ff:ff:ff:ff:ff from its ports`,
        fix: 'give it a fixed MAC (xenbridge does for bridges it creates)',
      });
    }
  }
  return [...out, ...lintBonds(s)];
};
