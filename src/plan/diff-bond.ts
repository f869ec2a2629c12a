/**
 * The bond phase of a plan, run before the uplinks are taken over: create a declared bond that does
 * not exist, bring an adopted one's options in line with the file, enslave the members it lacks.
 */
import { DEFAULT_MIIMON } from '../model/bond.js';
import type { HostState, Link } from '../state/types.js';
import type { WantLink } from './desired.js';
import { synth } from './projection.js';
import * as op from './steps.js';
import type { Step } from './steps.js';

export interface BondPlanner {
  readonly s: HostState;
  readonly steps: Step[];
  readonly proj: Map<string, Link>;
  readonly want: { links: WantLink[] };
  get(name: string): Link;
}

type Tunable = Omit<op.BondOpts, 'mode'>;

/** The options the file sets that differ from the live bond's, and what they were. */
const changed = (w: op.BondOpts, cur: Link): { to: Tunable; was: Tunable } | undefined => {
  const live = cur.bond;
  if (!live) return undefined;
  const to: Tunable = {};
  const was: Tunable = {};
  if (w.miimon !== undefined && w.miimon !== live.miimon) [to.miimon, was.miimon] = [w.miimon, live.miimon];
  if (w.lacpRate !== undefined && w.lacpRate !== live.lacpRate) [to.lacpRate, was.lacpRate] = [w.lacpRate, live.lacpRate as Tunable['lacpRate']];
  if (w.xmitHashPolicy !== undefined && w.xmitHashPolicy !== live.xmitHashPolicy) {
    [to.xmitHashPolicy, was.xmitHashPolicy] = [w.xmitHashPolicy, live.xmitHashPolicy as Tunable['xmitHashPolicy']];
  }
  return Object.keys(to).length > 0 ? { to, was } : undefined;
};

export const planBonds = (p: BondPlanner): void => {
  for (const w of p.want.links) {
    if (w.role !== 'nic' || w.bond === undefined) continue;
    const o = w.bond;
    let cur = p.proj.get(w.from ?? w.name);
    if (!cur) {
      const opts = { ...o, miimon: o.miimon ?? DEFAULT_MIIMON };
      p.steps.push(op.addBond(w.name, { ...opts, mac: w.mac, mtu: w.mtu }));
      cur = synth(w.name, 'bond', w.mtu, w.mac, {
        // A new link's IPv6 address generation, where the kernel reports it: quietened as a port like the NIC's.
        addrGenMode: p.s.links.some((l) => l.addrGenMode !== undefined) ? 'eui64' : undefined,
        bond: { mode: o.mode, miimon: opts.miimon, lacpRate: o.lacpRate, xmitHashPolicy: o.xmitHashPolicy },
      });
      p.proj.set(w.name, cur);
    } else {
      const diff = changed(o, cur);
      if (diff && cur.bond) {
        // Some bond options are refused while the bond is up; the takeover takes it down for its MAC anyway.
        if (cur.up) p.steps.push(op.setUp(cur.name, false));
        cur.up = false;
        // The kernel drops a link's IPv6 addresses when it goes down: no step may delete them after.
        cur.addrs = cur.addrs.filter((a) => a.family !== 6);
        p.steps.push(op.setBond(cur.name, diff.to, diff.was));
        cur.bond = { ...cur.bond, ...diff.to };
      }
    }
    for (const m of p.want.links.filter((x) => x.role === 'member' && x.master === w.name)) {
      const ml = p.get(m.name);
      if (ml.master === cur.name) continue;
      if (ml.up) p.steps.push(op.setUp(ml.name, false));
      p.steps.push(op.setMaster(ml.name, cur.name, ml.master));
      // Enslaving opens the member, and gives it the bond's MTU.
      ml.master = cur.name;
      ml.up = true;
      ml.mtu = cur.mtu;
    }
  }
};

/** After a link is renamed, its ports name the new master. */
export const renameMaster = (proj: Map<string, Link>, from: string, to: string): void => {
  for (const l of proj.values()) if (l.master === from) l.master = to;
};
