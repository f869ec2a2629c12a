/** The planner's picture of links and addresses as the plan changes them, and how it compares them. */
import type { Addr, Link, Route } from '../state/types.js';

/** Routes the kernel or a daemon owns come back by themselves; moving them would duplicate them. */
export const movable = (r: Route): boolean => r.protocol !== 'kernel' && r.protocol !== 'ra';

export const synth = (name: string, kind: Link['kind'], mtu: number | undefined, mac: string | undefined, extra: Partial<Link> = {}): Link => ({
  ifindex: 0, name, kind, kindName: kind, up: false, noarp: false, operstate: 'DOWN', carrier: false, mtu: mtu ?? 1500, mac: mac ?? '',
  peerElsewhere: false, addrs: [], ...extra,
});

/**
 * A moved IPv6 address skips DAD on dom0's interface: it is this host's address, already defended on
 * the NIC, and while tentative it would drop the traffic the NIC hands over.
 */
export const movedAddr = (a: Addr): Addr => ({ ...a, label: undefined, flags: a.family === 6 && !a.flags.includes('nodad') ? [...a.flags, 'nodad'] : a.flags });

export const sameAddr = (a: Addr, b: Addr): boolean => a.local === b.local && a.prefixlen === b.prefixlen;
export const sameRoute = (a: Route, b: Route): boolean =>
  a.family === b.family && a.dst === b.dst && a.gateway === b.gateway && a.dev === b.dev;
