/**
 * The takeover's moves: the NIC's routes, addresses and dynamic addresses (DHCP leases, SLAAC and
 * DHCPv6) come off it and are queued for dom0's interface, which the planner's later phases give
 * them to. On the live path dom0's interface gets copies first and the NIC gives them up last.
 */
import type { Addr, HostState, Link, Route } from '../state/types.js';
import type { Want, WantAddr } from './desired.js';
import { isLease } from './diff-dhcp.js';
import { isDynamic6 } from './diff-ra.js';
import { movable, movedAddr, sameAddr } from './projection.js';
import * as op from './steps.js';
import type { Step } from './steps.js';

export type MoveFrom = Want['moveFrom'][number];

export interface MovePlanner {
  readonly steps: Step[];
  readonly s: HostState;
  readonly want: Want;
  readonly movedAddrs: WantAddr[];
  readonly movedRoutes: Route[];
  readonly movedLeases: WantAddr[];
  get(name: string): Link;
  /** The NIC's name at this point of the plan: the live path renames it before it gives up its addresses. */
  nameOf(name: string): string;
}

export const takeRoutes = (p: MovePlanner, ms: MoveFrom[]): void => {
  const gwFamilies = new Set(p.want.routes.filter((r) => r.dst === 'default').map((r) => r.family));
  for (const m of ms) {
    for (const r of p.s.routes.filter((x) => x.dev === m.link.name && movable(x))) {
      p.steps.push(op.delRoute({ ...r, dev: p.nameOf(m.link.name) }));
      if (!(r.dst === 'default' && gwFamilies.has(r.family))) p.movedRoutes.push({ ...r, dev: m.to });
    }
  }
};

/** Addresses a client or SLAAC made that move with their lifetimes: dom0's own client or the kernel renews them there. */
const leasesOf = (p: MovePlanner, m: MoveFrom): Addr[] =>
  m.link.addrs.filter((x) => (p.want.dhcp.includes(m.to) && isLease(x)) || (p.want.ra.some((r) => r.dev === m.to) && isDynamic6(x)));

/** keep: the addresses are already on dom0's interface (live path), only taken off the NIC. */
export const takeAddrs = (p: MovePlanner, ms: MoveFrom[], keep = false): void => {
  for (const m of ms) {
    const dev = p.nameOf(m.link.name);
    for (const a of leasesOf(p, m)) {
      p.steps.push(op.delLease(a, dev));
      p.get(dev).addrs = p.get(dev).addrs.filter((x) => !sameAddr(x, a));
      if (!keep) p.movedLeases.push({ dev: m.to, addr: movedAddr(a) });
    }
    for (const a of m.link.addrs.filter((x) => !x.managed)) {
      p.steps.push(op.delAddr(a, dev));
      p.get(dev).addrs = p.get(dev).addrs.filter((x) => !sameAddr(x, a));
      if (!keep) p.movedAddrs.push({ dev: m.to, addr: movedAddr(a) });
    }
  }
};

/** Live path: dom0's interface gets the NIC's addresses while the NIC still holds them. */
export const copyAddrs = (p: MovePlanner, ms: MoveFrom[]): void => {
  for (const m of ms) {
    p.movedAddrs.push(...m.link.addrs.filter((x) => !x.managed).map((a) => ({ dev: m.to, addr: movedAddr(a) })));
    p.movedLeases.push(...leasesOf(p, m).map((a) => ({ dev: m.to, addr: movedAddr(a) })));
  }
};

export const takeOff = (p: MovePlanner, ms: MoveFrom[]): void => {
  takeRoutes(p, ms);
  takeAddrs(p, ms);
};
