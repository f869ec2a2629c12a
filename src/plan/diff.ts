/**
 * Desired vs live state -> ordered steps. Works on a projection of the live state that each step
 * updates, so later phases (MTU, master, up, addresses) see links as earlier steps left them.
 * Every phase emits only differences: an unchanged file gives an empty plan and no link flaps.
 */
import { XbError } from '../errors.js';
import { deriveBridgeMac } from '../model/net.js';
import type { Topology } from '../model/topology.js';
import { planRenames } from './rename-plan.js';
import { canRenameLive, type HostState, type Link, type Route } from '../state/types.js';
import { planBonds, renameMaster } from './diff-bond.js';
import { planDhcp } from './diff-dhcp.js';
import { copyAddrs, takeAddrs, takeOff, takeRoutes } from './diff-move.js';
import { planRa } from './diff-ra.js';
import { desiredState, type Role, type Want, type WantAddr, type WantBridge, type WantLink } from './desired.js';
import * as op from './steps.js';
import type { Step } from './steps.js';
import { sameAddr, sameRoute, synth } from './projection.js';
import { planVlanEntries } from './vlan-entries.js';

export interface Plan {
  steps: Step[];
}

const ROLE_ORDER: Role[] = ['member', 'nic', 'peer', 'dom0', 'bridge', 'vlan', 'vlan-bridge'];
const UP_ORDER: Role[] = ['bridge', 'vlan-bridge', 'nic', 'member', 'peer', 'dom0', 'vlan'];
const byRole = (order: Role[]) => (a: WantLink, b: WantLink): number => order.indexOf(a.role) - order.indexOf(b.role);

class Planner {
  readonly steps: Step[] = [];
  readonly proj = new Map<string, Link>();
  readonly movedAddrs: WantAddr[] = [];
  readonly movedRoutes: Route[] = [];
  readonly movedLeases: WantAddr[] = [];
  readonly renamed = new Map<string, string>();

  constructor(readonly s: HostState, readonly want: Want) {
    for (const l of s.links) this.proj.set(l.name, { ...l, addrs: [...l.addrs] });
  }

  get(name: string): Link {
    const l = this.proj.get(name);
    if (!l) throw new XbError('bug', `planner lost track of ${name}`);
    return l;
  }

  /** The NIC's name at this point of the plan: the live path renames it before it gives up its addresses. */
  nameOf(name: string): string {
    return this.renamed.get(name) ?? name;
  }

  removeVlans(): void {
    for (const v of this.want.removeVlans) {
      this.steps.push(op.delVlan(v));
      this.proj.delete(v.name);
    }
  }

  bridges(): void {
    for (const w of this.want.links.filter((x): x is WantBridge => x.role === 'bridge' || x.role === 'vlan-bridge')) {
      const opts = w.bridge;
      const cur = this.proj.get(w.name);
      if (!cur) {
        const mac = w.createMac ?? (w.macSeed === undefined ? undefined : deriveBridgeMac(w.macSeed, w.name));
        this.steps.push(op.addBridge(w.name, { ...opts, mac, mtu: w.mtu }));
        this.proj.set(w.name, synth(w.name, 'bridge', w.mtu, mac, { bridge: opts }));
        continue;
      }
      const was = cur.bridge ?? opts;
      if (was.stp !== opts.stp || was.forwardDelay !== opts.forwardDelay || was.vlanFiltering !== opts.vlanFiltering) {
        this.steps.push(...op.splitBridgeChange(w.name, opts, was));
        cur.bridge = opts;
      }
      if (w.mac && cur.mac !== w.mac) {
        this.steps.push(op.setMac(w.name, w.mac, cur.mac));
        cur.mac = w.mac;
      }
    }
  }

  /** Live: rename while up and leave the MAC to nicMacs, which runs once dom0's interface holds the addresses. */
  nics(live: boolean): void {
    for (const w of this.want.links.filter((x) => x.role === 'nic')) {
      const cur = this.get(w.from ?? w.name);
      const needMac = w.mac !== undefined && cur.mac !== w.mac;
      if (cur.up && ((needMac && !live) || (w.from !== undefined && !live))) {
        this.steps.push(op.setUp(cur.name, false));
        cur.up = false;
        // The kernel drops a link's IPv6 addresses when it goes down (keep_addr_on_down is off by default).
        cur.addrs = cur.addrs.filter((a) => a.family !== 6);
      }
      if (w.from !== undefined) {
        this.steps.push(op.rename(w.from, w.name));
        this.proj.delete(w.from);
        this.renamed.set(w.from, w.name);
        cur.name = w.name;
        this.proj.set(w.name, cur);
        renameMaster(this.proj, w.from, w.name);
      }
      if (!live) this.nicMac(w);
    }
  }

  nicMac(w: WantLink): void {
    const cur = this.get(w.name);
    if (w.mac === undefined || cur.mac === w.mac) return;
    this.steps.push(cur.up ? op.setMacLive(w.name, w.mac, cur.mac) : op.setMac(w.name, w.mac, cur.mac));
    cur.mac = w.mac;
  }

  nicMacs(): void {
    for (const w of this.want.links.filter((x) => x.role === 'nic')) this.nicMac(w);
  }

  create(): void {
    for (const w of this.want.links) {
      const cur = this.proj.get(w.name);
      if (w.role === 'dom0') {
        const peerName = w.veth.peer;
        if (cur && cur.link !== peerName) {
          throw new XbError('state', `${w.name} is a veth paired with ${cur.link ?? 'a link in another namespace'}, not with ${peerName}`, {
            detail: ['delete it or choose another dom0.ifname / dom0.peer'],
          });
        }
        if (cur) continue;
        const peer = this.want.links.find((x) => x.name === peerName);
        this.steps.push(op.addVeth(w.name, { mac: w.createMac, mtu: w.mtu, peer: peerName, peerMac: peer?.createMac }));
        const addrGenMode = this.s.links.some((l) => l.addrGenMode !== undefined) ? 'eui64' : undefined;
        this.proj.set(w.name, synth(w.name, 'veth', w.mtu, w.createMac, { link: peerName, addrGenMode }));
        this.proj.set(peerName, synth(peerName, 'veth', w.mtu, peer?.createMac, { link: w.name, addrGenMode }));
      } else if (w.role === 'vlan' && !cur) {
        const parentMtu = this.get(w.vlan.parent).mtu;
        this.steps.push(op.addVlan(w.name, { parent: w.vlan.parent, id: w.vlan.id, mtu: w.mtu }));
        this.proj.set(w.name, synth(w.name, 'vlan', w.mtu ?? parentMtu, undefined, { link: w.vlan.parent, vlanId: w.vlan.id }));
      } else if (w.role === 'vlan' && cur && (cur.link !== w.vlan.parent || cur.vlanId !== w.vlan.id)) {
        throw new XbError('state', `${w.name} exists as VLAN ${cur.vlanId} on ${cur.link}, but the file wants VLAN ${w.vlan.id} on ${w.vlan.parent}`, {
          detail: ['delete it or set vlans[].device to another name'],
        });
      }
    }
  }

  mtus(): void {
    const changes = this.want.links.flatMap((w) => (w.mtu !== undefined && this.get(w.name).mtu !== w.mtu ? [{ ...w, mtu: w.mtu }] : []));
    const down = changes.filter((w) => w.mtu < this.get(w.name).mtu).sort(byRole(ROLE_ORDER)).reverse();
    const up = changes.filter((w) => w.mtu > this.get(w.name).mtu).sort(byRole(ROLE_ORDER));
    for (const w of [...down, ...up]) {
      const cur = this.get(w.name);
      this.steps.push(op.setMtu(w.name, w.mtu, cur.mtu));
      cur.mtu = w.mtu;
    }
  }

  /**
   * Bridge ports carry no IPv6 address: with eui64 every port with Xen's MAC would claim the same
   * fe80::fcff:ffff:feff:ffff and defend it by DAD on the wire. A port that is up loses the
   * link-local address it already has; a port that is down has none (the kernel dropped it).
   */
  quietPort(w: WantLink): void {
    const cur = this.get(w.name);
    if ((w.role !== 'nic' && w.role !== 'peer') || !w.master || cur.addrGenMode === undefined || cur.addrGenMode === 'none') return;
    this.steps.push(op.setAddrGenMode(w.name, 'none', cur.addrGenMode));
    cur.addrGenMode = 'none';
    for (const a of cur.addrs.filter((x) => x.family === 6 && x.scope === 'link')) this.steps.push(op.delAddr(a, w.name));
    cur.addrs = cur.addrs.filter((x) => !(x.family === 6 && x.scope === 'link'));
  }

  masters(which: (w: WantLink) => boolean = () => true): void {
    for (const w of this.want.links.filter((x) => x.master !== undefined && which(x))) {
      this.quietPort(w);
      const cur = this.get(w.name);
      const target = w.master ?? undefined;
      if (cur.master === target) continue;
      this.steps.push(op.setMaster(w.name, target, cur.master));
      cur.master = target;
    }
  }

  arps(): void {
    for (const { name, arp } of this.want.links) {
      if (arp === undefined) continue;
      const cur = this.get(name);
      if (cur.noarp !== arp) continue;
      this.steps.push(op.setArp(name, arp));
      cur.noarp = !arp;
    }
  }

  ups(): void {
    // By role in UP_ORDER (every role is there), in the file's order within one: a stable sort's order,
    // in seven passes instead of a comparison sort over thousands of links.
    for (const w of UP_ORDER.flatMap((role) => this.want.links.filter((x) => x.role === role))) {
      const cur = this.get(w.name);
      if (cur.up) continue;
      this.steps.push(op.setUp(w.name, true));
      cur.up = true;
    }
  }

  addrs(): void {
    for (const { dev, addr } of this.movedLeases) {
      this.steps.push(op.addLease(addr, dev));
      this.get(dev).addrs.push(addr);
    }
    for (const { dev, addr } of [...this.movedAddrs, ...this.want.addrs]) {
      const cur = this.get(dev);
      if (cur.addrs.some((a) => sameAddr(a, addr))) continue;
      this.steps.push(op.addAddr(addr, dev));
      cur.addrs.push(addr);
    }
  }

  routes(): void {
    const moving = new Set(this.want.moveFrom.map((m) => m.link.name));
    const present = this.s.routes.filter((r) => !moving.has(r.dev ?? ''));
    // A route via a gateway needs the route to that gateway first (not there by itself under noprefixroute).
    const moved = [...this.movedRoutes].sort((a, b) => Number(a.gateway !== undefined) - Number(b.gateway !== undefined));
    for (const r of [...moved, ...this.want.routes]) {
      if (present.some((p) => sameRoute(p, r))) continue;
      if (r.dst === 'default') {
        for (const old of present.filter((p) => p.dst === 'default' && p.family === r.family && (p.metric ?? 0) === (r.metric ?? 0))) {
          this.steps.push(op.delRoute(old));
          present.splice(present.indexOf(old), 1);
        }
      }
      this.steps.push(op.addRoute(r));
      present.push(r);
    }
  }
}

export const makePlan = (t: Topology, current: HostState): Plan => {
  // names: rules rename NICs first; the rest is planned on the state as the renames leave it.
  const names = planRenames(t, current);
  const s = names.state;
  const want = desiredState(t, s, names.uplinks);
  const p = new Planner(s, want);
  p.steps.push(...names.steps);
  // On a kernel that renames live nothing goes down: the NIC is renamed and keeps carrying dom0's
  // traffic until dom0's interface is up with its addresses and routes; then it gives up the
  // addresses (dom0 still answers for them on it: an address belongs to the host, not the link;
  // and a driver's down/up for the MAC would flush IPv6), changes its MAC and joins the bridge.
  // Otherwise it goes down first, its addresses and routes come off then and go on dom0's last
  // (the late phases find nothing left to do). VLAN devices on the NIC go first (names reused).
  const live = canRenameLive(s.kernel);
  const nic = live ? want.moveFrom.filter((m) => m.link.kind !== 'vlan') : [];
  takeOff(p, want.moveFrom.filter((m) => !nic.includes(m)));
  p.removeVlans();
  p.bridges();
  planBonds(p);
  p.nics(live);
  p.create();
  p.mtus();
  p.masters((w) => w.role !== 'nic' || !live);
  p.arps();
  planRa(p);
  p.ups();
  copyAddrs(p, nic);
  p.addrs();
  takeRoutes(p, nic);
  p.routes();
  takeAddrs(p, nic, true);
  for (const w of want.links.filter((x) => x.role === 'nic')) p.quietPort(w);
  p.nicMacs();
  p.masters((w) => w.role === 'nic');
  p.steps.push(...planVlanEntries(want, s, p.proj));
  planDhcp(p);
  return { steps: p.steps };
};
