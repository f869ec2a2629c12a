/**
 * `names:` rules -> rename steps, run before the rest of the plan, and the state as it will be after
 * them, so that `uplink: fe0` refers to the renamed NIC.
 *
 * Before Linux 6.3 the kernel refuses to rename a link that is up (EBUSY), so such a NIC goes down,
 * is renamed and comes up again. Going down drops its IPv4 and IPv6 routes and, unless
 * keep_addr_on_down is set, its static IPv6 addresses: those are removed and added back as explicit
 * steps, so the journal can restore every one of them if anything fails.
 */
import { XbError } from '../errors.js';
import type { Topology } from '../model/topology.js';
import { addAddr, addRoute, delAddr, delRoute, rename, setUp, type Step } from './steps.js';
import { canRenameLive, linkByName, type HostState, type Link, type Route } from '../state/types.js';
import { resolveNames, type RuleMatch } from '../names/match.js';
import { orderRenames, type Move } from '../names/order.js';

export interface RenamePlan {
  steps: Step[];
  /** The live state with the renames applied, for planning the rest of the topology. */
  state: HostState;
  moves: Move[];
  /** Bridge uplinks whose NIC the takeover renames itself: uplink name -> the NIC, still unrenamed. */
  uplinks: Map<string, Link>;
}

type Matched = RuleMatch & { nic: Link };

/** Routes the kernel (or router advertisements) install come back by themselves once the link is up. */
const restorable = (r: Route): boolean => r.protocol !== 'kernel' && r.protocol !== 'ra';

export const renameInState = (s: HostState, moves: Move[]): HostState => {
  const to = new Map(moves.map((m) => [m.from, m.to]));
  const rn = <T extends string | undefined>(n: T): T => (n === undefined ? n : ((to.get(n) ?? n) as T));
  // The kernel renames IPv4 labels with the link, keeping any ":alias" suffix.
  const label = (l: Link, lbl: string | undefined): string | undefined =>
    lbl !== undefined && (lbl === l.name || lbl.startsWith(`${l.name}:`)) ? rn(l.name) + lbl.slice(l.name.length) : lbl;
  return {
    ...s,
    links: s.links.map((l) => ({ ...l, name: rn(l.name), master: rn(l.master), link: rn(l.link), addrs: l.addrs.map((a) => ({ ...a, label: label(l, a.label) })) })),
    routes: s.routes.map((r) => ({ ...r, dev: rn(r.dev) })),
    vlans: s.vlans.map((v) => ({ ...v, dev: rn(v.dev) })),
  };
};

const blockedTarget = (m: Matched, s: HostState, moving: Set<string>): XbError | undefined => {
  const holder = linkByName(s, m.target);
  if (!holder || moving.has(holder.name)) return undefined;
  return new XbError('state', `${m.rule.where}: names[${m.index}] cannot rename ${m.nic.name} to ${m.target}: ${m.target} is already a ${holder.kindName}`, {
    detail: [`rename or delete ${m.target}, or choose another name in the file`],
  });
};

/** Steps that take one up link down for its rename, and the steps that bring it back as it was. */
const aroundDown = (l: Link, to: string, s: HostState): { before: Step[]; after: Step[] } => {
  const routes = s.routes.filter((r) => r.dev === l.name && restorable(r));
  const v6 = l.addrs.filter((a) => a.family === 6 && !a.managed);
  return {
    before: [...routes.map(delRoute), ...v6.map((a) => delAddr(a, l.name)), setUp(l.name, false)],
    after: [setUp(to, true), ...v6.map((a) => addAddr(a, to)), ...routes.map((r) => addRoute(r, to))],
  };
};

/**
 * A NIC that becomes a bridge's uplink is renamed by the takeover itself, which takes it down once
 * anyway (for Xen's port MAC) after moving its addresses and routes away: renaming it here as well
 * would flap it twice. That holds unless its name is wanted by another rename, or its target is
 * held by another such NIC; those are renamed here.
 */
const byTakeover = (matched: Matched[], t: Topology): Matched[] => {
  let deferred = matched.filter((m) => t.bridges.some((b) => b.uplink === m.rule.name));
  for (;;) {
    const direct = new Set(matched.filter((m) => !deferred.includes(m)).map((m) => m.target));
    const held = new Set(deferred.map((m) => m.nic.name));
    const keep = deferred.filter((m) => !direct.has(m.nic.name) && !held.has(m.target));
    if (keep.length === deferred.length) return keep;
    deferred = keep;
  }
};

export const planRenames = (t: Topology, s: HostState): RenamePlan => {
  const none: RenamePlan = { steps: [], state: s, moves: [], uplinks: new Map() };
  if (t.names.length === 0) return none;
  const matched = resolveNames(t, s).filter((m): m is Matched => m.nic !== undefined && m.nic.name !== m.target);
  if (matched.length === 0) return none;
  const moving = new Set(matched.map((m) => m.nic.name));
  const blocked = matched.map((m) => blockedTarget(m, s, moving)).find((e) => e !== undefined);
  if (blocked) throw blocked;
  const deferred = byTakeover(matched, t);
  const direct = matched.filter((m) => !deferred.includes(m));
  const moves = direct.map((m) => ({ from: m.nic.name, to: m.target }));
  const live = canRenameLive(s.kernel);
  const downs = direct.filter((m) => m.nic.up && !live).map((m) => aroundDown(m.nic, m.target, s));
  const steps = [
    ...downs.flatMap((d) => d.before),
    ...orderRenames(moves, new Set(s.links.map((l) => l.name))).map((m) => rename(m.from, m.to)),
    ...downs.flatMap((d) => d.after),
  ];
  const state = renameInState(s, moves);
  const uplinks = new Map(deferred.flatMap((m) => {
    const nic = linkByName(state, m.nic.name);
    return nic ? [[m.rule.name, nic] as const] : [];
  }));
  return { steps, state, moves, uplinks };
};
