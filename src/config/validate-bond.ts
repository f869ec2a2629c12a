/** Validation of `bonds[]` entries, and the checks that tie them to the bridges that use them. */
import { shown } from '../errors.js';
import { BOND_MODES, HASHING_MODES, XMIT_HASH_POLICIES, type BondMode, type BondSpec } from '../model/bond.js';
import { ifnameProblem, looksLikeVlanDevice, XEN_VIF_RE } from '../model/ifname.js';
import type { BridgeSpec } from '../model/topology.js';
import { pathText, type Checker } from './checker.js';
import type { Path } from './load.js';

const BOND_KEYS = ['name', 'mode', 'members', 'miimon', 'lacp-rate', 'xmit-hash-policy'] as const;

const oneOf = <T extends string>(c: Checker, v: string | undefined, allowed: readonly T[], at: Path, what: string): T | undefined => {
  if (v === undefined) return undefined;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  c.fail(at, `${pathText(at)}: unknown ${what} "${v}" (one of ${allowed.join(', ')})`);
  return undefined;
};

export const readBond = (c: Checker, raw: unknown, path: Path): BondSpec | undefined => {
  const o = c.mapping(raw, path, BOND_KEYS);
  if (!o) return undefined;
  const name = c.ifname(o, 'name', path, true);
  if (name !== undefined && looksLikeVlanDevice(name)) c.fail([...path, 'name'], `${pathText(path)}.name: "${name}" is a VLAN device's name; a bond needs another`);
  const mode = oneOf<BondMode>(c, c.str(o, 'mode', path, true), BOND_MODES, [...path, 'mode'], 'bond mode');
  const listed = c.list(o, 'members', path);
  if (o.members === undefined) c.fail(path, `${pathText(path)} needs "members" (the NICs it bonds)`);
  else if (listed.length === 0 && Array.isArray(o.members)) c.fail([...path, 'members'], `${pathText(path)}.members: a bond needs at least one member`);
  const members: string[] = [];
  listed.forEach((item, i) => {
    const why = typeof item !== 'string' ? 'must be an interface name' : ifnameProblem(item) ?? (XEN_VIF_RE.test(item) ? `${shown(item)} is the name Xen gives a guest's vif` : undefined);
    if (why !== undefined) {
      c.fail([...path, 'members', i], `${pathText([...path, 'members', i])}: ${why}`);
      return;
    }
    const m = item as string;
    if (members.includes(m)) c.fail([...path, 'members', i], `${pathText(path)}.members: ${m} is listed twice`);
    else if (m === name) c.fail([...path, 'members', i], `${pathText(path)}.members: a bond cannot be its own member`);
    else if (looksLikeVlanDevice(m)) c.fail([...path, 'members', i], `${pathText(path)}.members: ${m} is a VLAN device; members are NICs`);
    else members.push(m);
  });
  const miimon = c.int(o, 'miimon', path, 1, 60000, 'miimon (milliseconds)');
  const lacpRate = oneOf(c, c.str(o, 'lacp-rate', path), ['slow', 'fast'] as const, [...path, 'lacp-rate'], 'lacp-rate');
  if (lacpRate !== undefined && mode !== undefined && mode !== '802.3ad') c.fail([...path, 'lacp-rate'], `${pathText(path)}: lacp-rate needs mode 802.3ad (this bond's is ${mode})`, true);
  const xmitHashPolicy = oneOf(c, c.str(o, 'xmit-hash-policy', path), XMIT_HASH_POLICIES, [...path, 'xmit-hash-policy'], 'xmit-hash-policy');
  if (xmitHashPolicy !== undefined && mode !== undefined && !HASHING_MODES.includes(mode)) {
    c.fail([...path, 'xmit-hash-policy'], `${pathText(path)}: xmit-hash-policy needs mode ${HASHING_MODES.join(', ')} (this bond's is ${mode})`, true);
  }
  if (name === undefined || mode === undefined) return undefined;
  return { name, mode, members, miimon, lacpRate, xmitHashPolicy, where: { self: c.where(path), name: c.where([...path, 'name']), members: c.where([...path, 'members']) } };
};

/** `claimed`: every other name the file gives a link, with what it is. */
export const crossCheckBonds = (c: Checker, bonds: BondSpec[], bridges: BridgeSpec[], claimed: Map<string, string>, renamed: string[]): void => {
  const names = new Map<string, number>();
  const memberOf = new Map<string, number>();
  bonds.forEach((bond, i) => {
    const at: Path = ['bonds', i];
    const prior = names.get(bond.name);
    if (prior !== undefined) c.fail([...at, 'name'], `bond ${bond.name} is declared twice (also bonds[${prior}])`);
    names.set(bond.name, i);
    const users = bridges.filter((b) => b.uplink === bond.name);
    if (users.length === 0) c.fail([...at, 'name'], `bonds[${i}]: bond ${bond.name} is no bridge's uplink; set uplink: ${bond.name} on the bridge it serves`);
    bond.members.forEach((m, j) => {
      const mAt: Path = [...at, 'members', j];
      const other = memberOf.get(m);
      const uplinkOf = bridges.findIndex((b) => b.uplink === m);
      if (other !== undefined) c.fail(mAt, `${m} is a member of two bonds: bonds[${other}] and bonds[${i}]`);
      else if (uplinkOf >= 0) c.fail(mAt, `${m} cannot be a member of bond ${bond.name}: it is also the uplink (a port) of bridges[${uplinkOf}]`);
      else if (claimed.has(m)) c.fail(mAt, `${m} cannot be a member of bond ${bond.name}: it is also the ${claimed.get(m)}`);
      memberOf.set(m, i);
    });
  });
  bonds.forEach((bond, i) => {
    const rule = renamed.indexOf(bond.name);
    if (rule >= 0) c.fail(['names', rule, 'name'], `names[${rule}]: "${bond.name}" is the name of bond bonds[${i}]; a NIC cannot take it`);
    if (memberOf.has(bond.name)) c.fail(['bonds', i, 'name'], `bond ${bond.name} is also a member of bonds[${memberOf.get(bond.name)}]`);
  });
};
