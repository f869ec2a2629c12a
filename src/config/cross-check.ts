/** Checks that span entries: names used twice, an uplink shared by two bridges, two default routes. */
import { ipFamily } from '../model/net.js';
import type { BondSpec } from '../model/bond.js';
import type { BridgeSpec, NameRule } from '../model/topology.js';
import type { Checker, Obj } from './checker.js';
import type { Path } from './load.js';
import { crossCheckBonds } from './validate-bond.js';

interface Claim {
  name: string;
  what: string;
  path: Path;
}

const claims = (bridges: BridgeSpec[]): Claim[] =>
  bridges.flatMap((b, i) => {
    const at: Path = ['bridges', i];
    const list: Claim[] = [
      { name: b.name, what: `bridge of bridges[${i}]`, path: [...at, 'name'] },
      { name: b.dom0.ifname, what: `dom0 interface of bridges[${i}]`, path: [...at, 'dom0', 'ifname'] },
      { name: b.dom0.peer, what: `veth peer of bridges[${i}]`, path: [...at, 'dom0', 'peer'] },
    ];
    if (b.uplinkPort !== undefined && b.uplinkPort !== b.dom0.ifname) list.push({ name: b.uplinkPort, what: `uplink port of bridges[${i}]`, path: [...at, 'uplink-port'] });
    b.vlans.forEach((v, j) => {
      list.push({ name: v.device, what: `VLAN ${v.id} device of bridges[${i}]`, path: [...at, 'vlans', j, 'device'] });
      if (v.bridge !== undefined) list.push({ name: v.bridge, what: `VLAN ${v.id} bridge of bridges[${i}]`, path: [...at, 'vlans', j, 'bridge'] });
    });
    return list;
  });

/** A claim on a name the file's own entry is allowed to share: the uplink is dom0's name or the port's. */
const ownUplinkName = (cl: Claim, i: number): boolean =>
  cl.path[1] === i && (cl.what.startsWith('dom0 interface') || cl.what.startsWith('uplink port'));

export const crossCheck = (c: Checker, bridges: BridgeSpec[], bonds: BondSpec[], names: NameRule[], _top: Obj): void => {
  const byName = new Map<string, Claim>();
  const clashes: [Claim, Claim][] = [];
  for (const cl of claims(bridges)) {
    const prior = byName.get(cl.name);
    if (prior) clashes.push([prior, cl]);
    else byName.set(cl.name, cl);
  }
  const before = c.problems.length;
  const uplinks = new Map<string, number>();
  bridges.forEach((b, i) => {
    if (b.uplink === undefined) return;
    const prior = uplinks.get(b.uplink);
    if (prior !== undefined) {
      c.fail(['bridges', i, 'uplink'], `uplink ${b.uplink} is used by two bridges: bridges[${prior}] (${bridges[prior]?.name}) and bridges[${i}] (${b.name})`);
      return;
    }
    uplinks.set(b.uplink, i);
    const other = byName.get(b.uplink);
    if (other && !ownUplinkName(other, i)) c.fail(['bridges', i, 'uplink'], `uplink ${b.uplink} is also the ${other.what}`);
  });
  // Names derived from a clashing name clash too; report the cause, not its echoes.
  const explicit = clashes.filter(([a, b]) => c.src.has(a.path) || c.src.has(b.path));
  const shown = explicit.length > 0 || c.problems.length > before ? explicit : clashes.slice(0, 1);
  for (const [a, b] of shown) c.fail(b.path, `name "${b.name}" is used twice: ${a.what} and ${b.what}`);
  crossCheckBonds(c, bonds, bridges, new Map([...byName].map(([n, cl]) => [n, cl.what])), names.map((n) => n.name));
  const gateways = new Map<number, Path>();
  const noteGateway = (gw: string | undefined, path: Path): void => {
    if (gw === undefined) return;
    const fam = ipFamily(gw);
    const prior = gateways.get(fam);
    if (prior) c.fail(path, `a second IPv${fam} gateway: only one default route per address family (the first is at ${c.where(prior)})`);
    else gateways.set(fam, path);
  };
  bridges.forEach((b, i) => {
    noteGateway(b.dom0.gateway, ['bridges', i, 'dom0', 'gateway']);
    // dhcp brings an IPv4 default route (a gateway written beside it is reported on its own).
    if (b.dom0.dhcp && (b.dom0.gateway === undefined || ipFamily(b.dom0.gateway) !== 4)) noteGateway('0.0.0.0', ['bridges', i, 'dom0', 'addresses']);
    b.vlans.forEach((v, j) => noteGateway(v.gateway, ['bridges', i, 'vlans', j, 'gateway']));
  });
  const targets = new Map<string, number>();
  names.forEach((n, i) => {
    const prior = targets.get(n.name);
    if (prior !== undefined) c.fail(['names', i, 'name'], `names[${i}]: "${n.name}" is already the name of names[${prior}]`);
    else targets.set(n.name, i);
    const clash = byName.get(n.name);
    // A rule may name the NIC a bridge uses as its uplink: it stays a port under that name.
    const ownPort = clash?.what.startsWith('uplink port') === true && bridges[clash.path[1] as number]?.uplink === n.name;
    if (clash && !clash.what.startsWith('dom0 interface') && !ownPort) c.fail(['names', i, 'name'], `names[${i}]: "${n.name}" is also the ${clash.what}`);
  });
};
