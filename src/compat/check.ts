/**
 * Can a domU attached on host A migrate to host B? Everything it may be attached to on A must exist
 * on B the same way: the bridge (and, in classic mode, the per-VLAN bridge its vif names), the mode,
 * the MTU, an uplink of the same name, and every VLAN A allows. The check is directional: B may
 * offer more than A, which then fails the other way.
 */
import type { HostNet, NetBridge } from './host-net.js';
import { minus, vidText } from './vid-set.js';

export interface PairResult {
  from: string;
  to: string;
  ok: boolean;
  reasons: string[];
}

export interface CompatReport {
  ok: boolean;
  hosts: string[];
  pairs: PairResult[];
}

const mtuText = (mtu: number | undefined): string => (mtu === undefined ? 'unset (the NIC\'s)' : `${mtu}`);

const bridgeReasons = (a: NetBridge, b: NetBridge, an: string, bn: string): string[] => {
  const out: string[] = [];
  const say = (what: string): number => out.push(`${a.name}: ${what}`);
  if (a.mode !== b.mode) say(`mode ${a.mode} on ${an}, ${b.mode} on ${bn}`);
  if (a.mtu !== b.mtu) say(`MTU ${mtuText(a.mtu)} on ${an}, ${mtuText(b.mtu)} on ${bn}`);
  if (a.uplink !== undefined && a.uplink !== b.uplink) say(b.uplink === undefined ? `no uplink NIC on ${bn} (${a.uplink} on ${an})` : `uplink NIC ${a.uplink} on ${an}, ${b.uplink} on ${bn}`);
  for (const v of a.vlans.filter((x) => x.bridge !== undefined)) {
    const there = b.vlans.find((x) => x.id === v.id)?.bridge;
    if (there !== v.bridge) say(there === undefined ? `VLAN ${v.id}'s bridge ${v.bridge} is missing on ${bn}` : `VLAN ${v.id}'s bridge is ${v.bridge} on ${an}, ${there} on ${bn}`);
  }
  const missing = minus(a.allowed, b.allowed);
  if (missing.length > 0) say(`VLAN ${vidText(missing)} allowed on ${an}, not on ${bn}`);
  return out;
};

export const checkPair = (a: HostNet, b: HostNet): PairResult => {
  const reasons = a.bridges.flatMap((ba) => {
    const bb = b.bridges.find((x) => x.name === ba.name);
    return bb ? bridgeReasons(ba, bb, a.host, b.host) : [`${ba.name}: no such bridge on ${b.host}`];
  });
  return { from: a.host, to: b.host, ok: reasons.length === 0, reasons };
};

/** Hosts are named after their files; two files with one name are told apart by their paths. */
const uniqueNames = (hosts: HostNet[]): HostNet[] => {
  const count = new Map<string, number>();
  for (const h of hosts) count.set(h.host, (count.get(h.host) ?? 0) + 1);
  return hosts.map((h) => ((count.get(h.host) ?? 0) > 1 ? { ...h, host: h.file } : h));
};

export const checkFleet = (input: HostNet[]): CompatReport => {
  const hosts = uniqueNames(input);
  const pairs = hosts.flatMap((a) => hosts.filter((b) => b !== a).map((b) => checkPair(a, b)));
  return { ok: pairs.every((p) => p.ok), hosts: hosts.map((h) => h.host), pairs };
};
