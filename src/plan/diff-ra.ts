/**
 * dom0's interface and routers' advertisements: with slaac or dhcp6 it takes them (the kernel's
 * SLAAC makes its addresses and the advertised default route; DHCPv6 gives no route). Planned
 * before the links come up, so a new interface solicits a router as it comes up. Bridge ports
 * never see an advertisement: their frames go to the bridge, and with addrgenmode none they have
 * no link-local address to solicit from. Only differences are planned; nothing is turned off.
 */
import { XbError } from '../errors.js';
import { acceptsRa, CONF_DEFAULT, type Ipv6Conf } from '../state/ipv6-conf.js';
import type { Addr, HostState, Link } from '../state/types.js';
import * as op from './steps.js';
import type { Step } from './steps.js';

/** A dom0 interface whose IPv6 comes from the network; slaac: its addresses from the advertised prefixes. */
export interface WantRa {
  dev: string;
  slaac: boolean;
}

/** An address SLAAC or a DHCPv6 client made: IPv6, global, with a lifetime. */
export const isDynamic6 = (a: Addr): boolean => a.family === 6 && a.scope === 'global' && a.validLft !== undefined && a.validLft !== 0xffffffff;

export const planRa = (p: { steps: Step[]; s: HostState; want: { ra: WantRa[] }; get(name: string): Link }): void => {
  for (const w of p.want.ra) {
    const cur = p.get(w.dev);
    // A link the plan creates (the projection's has no ifindex yet) starts with the defaults.
    const conf: Ipv6Conf | undefined = p.s.ipv6Conf?.[cur.ifindex === 0 ? CONF_DEFAULT : w.dev];
    if (!conf) throw new XbError('bug', `planning IPv6 settings of ${w.dev} without reading them`);
    if (!acceptsRa(conf)) p.steps.push(op.setSysctl(w.dev, 'accept_ra', conf.forwarding === 0 ? 1 : 2, conf.acceptRa));
    if (w.slaac && conf.autoconf !== 1) p.steps.push(op.setSysctl(w.dev, 'autoconf', 1, conf.autoconf));
    // Without a link-local address the interface cannot solicit a router; eui64 gives the NIC's (same MAC).
    if (w.slaac && cur.addrGenMode === 'none') {
      p.steps.push(op.setAddrGenMode(w.dev, 'eui64', 'none'));
      cur.addrGenMode = 'eui64';
    }
  }
};
