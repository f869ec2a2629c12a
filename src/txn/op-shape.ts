/**
 * The shape of ops and steps read back from the run directory. Every name an op renders into a
 * batch line is one word, so a damaged record can never turn one op into two lines.
 */
import { shownAny } from '../errors.js';
import type { VifGuard } from '../plan/guard.js';
import { BOND_MODES, XMIT_HASH_POLICIES } from '../model/bond.js';
import { IPV6_CONF_KEYS, type BondOptions, type Op, type OpKind } from '../plan/ops.js';
import type { Step } from '../plan/steps.js';
import type { Addr, Route, VlanEntry } from '../state/types.js';
import { ShapeError, bool, int, list, object, oneOf, optional, str, type Check } from './shape.js';

/** Text without blanks or line breaks: a link name, a MAC, an address. */
export const word: Check<string> = (v, at) => {
  const s = str(v, at);
  if (s === '' || /\s/.test(s)) throw new ShapeError(`${at} should be one word, not ${shownAny(s)}`);
  return s;
};

const oneLine: Check<string> = (v, at) => {
  const s = str(v, at);
  if (s.includes('\n')) throw new ShapeError(`${at} should be one line`);
  return s;
};

const family: Check<4 | 6> = (v, at) => {
  if (v === 4 || v === 6) return v;
  throw new ShapeError(`${at} should be 4 or 6`);
};

const addr: Check<Addr> = object({
  family, local: word, prefixlen: int, broadcast: optional(word), scope: word, label: optional(word), flags: list(word), managed: bool,
  validLft: optional(int), preferredLft: optional(int),
});

const route: Check<Route> = object({
  family, dst: word, gateway: optional(word), dev: optional(word), protocol: optional(word), scope: optional(word), metric: optional(int), prefsrc: optional(word), onlink: bool,
});

const entry: Check<VlanEntry> = object({ dev: word, vid: int, vidEnd: optional(int), pvid: bool, untagged: bool });

export const guardCheck: Check<VifGuard> = object({
  dev: word,
  vlans: optional(object({ untagged: bool, tagged: list(object({ start: int, end: int })) })),
  mac: optional(word),
  ips: optional(list(word)),
});

/** A flag that is there (true) or not: false is read as absent, so a record reads back as written. */
const flag: Check<true | undefined> = (v, at) => (optional(bool)(v, at) === true ? true : undefined);
const uncertain = flag;
const v6 = flag;

const bridgeOpts = object({ stp: bool, forwardDelay: int, vlanFiltering: bool });
const bondOptions: Check<BondOptions> = object({
  mode: optional(oneOf(...BOND_MODES)), miimon: optional(int), lacpRate: optional(oneOf('slow', 'fast')), xmitHashPolicy: optional(oneOf(...XMIT_HASH_POLICIES)),
});
const link = { dev: word, mac: optional(word), mtu: optional(int) };

const SHAPES: { [K in OpKind]: Check<Omit<Extract<Op, { kind: K }>, 'kind'>> } = {
  addBridge: object({ ...link, opts: bridgeOpts }),
  addVeth: object({ ...link, peer: word, peerMac: optional(word), peerNetns: optional(word) }),
  addVlan: object({ ...link, parent: word, id: int }),
  addBond: object({ ...link, bond: bondOptions }),
  setBond: object({ dev: word, opts: bondOptions, was: bondOptions }),
  delLink: object({ dev: word, vlan: optional(object({ parent: word, id: int, mac: word, mtu: int, master: optional(word), up: bool })) }),
  rename: object({ from: word, to: word }),
  setUp: object({ dev: word, up: bool }),
  setArp: object({ dev: word, on: bool }),
  setMaster: object({ dev: word, master: optional(word), was: optional(word) }),
  setMtu: object({ dev: word, mtu: int, was: int }),
  setMac: object({ dev: word, mac: word, was: word }),
  setAddrGenMode: object({ dev: word, mode: word, was: word }),
  setBridgeOpts: object({ dev: word, opts: bridgeOpts, was: bridgeOpts }),
  addAddr: object({ dev: word, addr }),
  delAddr: object({ dev: word, addr }),
  addRoute: object({ route }),
  delRoute: object({ route }),
  addVlanEntry: object({ entry }),
  delVlanEntry: object({ entry }),
  guard: object({ guard: guardCheck, was: optional(guardCheck), shared: flag }),
  unguard: object({ dev: word, was: optional(guardCheck) }),
  addNetns: object({ name: word }),
  delNetns: object({ name: word }),
  dhcpStart: object({ dev: word, dir: word, metric: optional(int), v6 }),
  dhcpStop: object({ dev: word, dir: word, v6 }),
  setSysctl: object({ dev: word, key: oneOf(...IPV6_CONF_KEYS), value: int, was: int }),
  addLease: object({ dev: word, addr }),
  delLease: object({ dev: word, addr }),
  line: object({ tool: oneOf('ip', 'bridge', 'nft', 'sysctl'), line: oneLine }),
};

const KINDS = Object.keys(SHAPES) as OpKind[];

const isKind = (k: string): k is OpKind => (KINDS as string[]).includes(k);

const kindOf = object({ kind: str });

export const opCheck: Check<Op> = (v, at) => {
  const { kind } = kindOf(v, at);
  if (!isKind(kind)) throw new ShapeError(`${at}.kind: unknown op ${shownAny(kind)}`);
  return { kind, ...SHAPES[kind](v, at) } as Op;
};


export const stepCheck: Check<Step> = object({ op: opCheck, undo: list(opCheck), uncertain });

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const lineOp = (l: unknown): unknown => (isMapping(l) ? { kind: 'line', tool: l.tool, line: l.line } : l);

/** Steps of a record of version 1 ({tool, line, undo: [{tool, line}]}) as line ops; the check that follows judges them. */
export const stepsOfV1 = (steps: unknown): unknown =>
  Array.isArray(steps) ? steps.map((s) => (isMapping(s) ? { op: lineOp(s), undo: Array.isArray(s.undo) ? s.undo.map(lineOp) : s.undo } : s)) : steps;
