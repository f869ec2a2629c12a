/**
 * The DHCP phase of a plan, after the addresses and routes: a client started on a moved lease
 * renews it (its lease file or a REQUEST for it) and, given the moved default route's metric,
 * replaces that route rather than adding a second one.
 */
import { XbError } from '../errors.js';
import type { Addr, HostState, Route } from '../state/types.js';
import type { Want } from './desired.js';
import * as op from './steps.js';
import type { Step } from './steps.js';

/** An address a DHCP client leased: IPv4, global, with a lifetime. */
export const isLease = (a: Addr): boolean => a.family === 4 && a.scope === 'global' && a.validLft !== undefined && a.validLft !== 0xffffffff;

export const planDhcp = (p: { steps: Step[]; s: HostState; want: Want; movedRoutes: Route[] }): void => {
  const clients = p.s.dhcp;
  if (!clients) {
    if (p.want.dhcp.length > 0 || p.want.dhcp6.length > 0) throw new XbError('bug', 'planning DHCP without reading the DHCP clients');
    return;
  }
  if (p.want.dhcp.length + p.want.dhcp6.length > 0 && /\s/.test(clients.dir)) {
    throw new XbError('usage', `the run directory ${clients.dir} has whitespace in its path; the DHCP client's files need one without`);
  }
  for (const dev of p.want.dhcp.filter((d) => !clients.running.includes(d))) {
    const metric = p.movedRoutes.find((r) => r.dev === dev && r.dst === 'default' && r.protocol === 'dhcp')?.metric;
    p.steps.push(op.startDhcp(dev, clients.dir, metric));
  }
  for (const dev of clients.running.filter((d) => !p.want.dhcp.includes(d))) p.steps.push(op.stopDhcp(dev, clients.dir));
  const running6 = clients.running6 ?? [];
  for (const dev of p.want.dhcp6.filter((d) => !running6.includes(d))) p.steps.push(op.startDhcp6(dev, clients.dir));
  for (const dev of running6.filter((d) => !p.want.dhcp6.includes(d))) p.steps.push(op.stopDhcp6(dev, clients.dir));
};
