/**
 * Static findings: layouts that lose frames whatever the probes saw. The known-bad layouts of plain
 * `verify`, a VLAN device on a bridge port said the way its bridge makes it hurt, and the VLAN
 * entries of filtering bridges: a PVID on dom0's side that is not the uplink's, and VIDs that ports
 * carry but the uplink does not. An error here fails the traffic verify. Pure.
 */
import type { BridgeSpec, Topology } from '../../model/topology.js';
import { linkByName, type HostState, type VlanEntry } from '../../state/types.js';
import { lint, type Finding } from '../lint.js';
import { coalesce } from './discover.js';
import { covers, entriesOf, entriesText } from './evidence.js';

export interface LayoutFinding extends Finding {
  evidence: string[];
}

/** Entries wider than this are "allow everything" ranges, not VLANs in use. */
const MAX_RANGE = 16;

const vlanOnPort = (s: HostState): LayoutFinding[] =>
  s.links.flatMap((l): LayoutFinding[] => {
    const lower = l.kind === 'vlan' && l.link ? linkByName(s, l.link) : undefined;
    const bridge = lower?.master ? linkByName(s, lower.master) : undefined;
    if (!lower || !bridge || bridge.kind !== 'bridge') return [];
    const vid = l.vlanId ?? 0;
    const evidence = [`ip link: ${l.name} vlan id ${vid} on ${lower.name}; ${lower.name} master ${bridge.name}`];
    if (bridge.bridge?.vlanFiltering) {
      return [{
        level: 'error', rule: 'vlan-on-filtering-uplink', evidence,
        message: `${l.name} (VLAN ${vid}) sits on ${lower.name}, a port of the VLAN-aware bridge ${bridge.name}: it takes VLAN ${vid}'s frames from ${lower.name} before ${bridge.name} sees them, so no port of ${bridge.name} gets VLAN ${vid} from the wire`,
        fix: `delete ${l.name}; give dom0 VLAN ${vid} on the bridge instead (bridge vlan add dev ${bridge.name} vid ${vid} self; ip link add link ${bridge.name} name ${bridge.name}.${vid} type vlan id ${vid}), or on dom0's veth end`,
      }];
    }
    return [{
      level: 'error', rule: 'vlan-on-bridge-port', evidence,
      message: `${l.name} (VLAN ${vid}) sits on ${lower.name}, a port of ${bridge.name}: it takes VLAN ${vid}'s frames before ${bridge.name} sees them, so guests on ${bridge.name} lose VLAN ${vid}`,
      fix: `move the VLAN device onto dom0's side of the bridge (a VLAN device on dom0's veth end, in a per-VLAN bridge: what xenbridge apply builds), or use mode: filtering`,
    }];
  });

const vidsOf = (es: VlanEntry[]): number[] =>
  coalesce(es).filter((e) => (e.vidEnd ?? e.vid) - e.vid < MAX_RANGE).flatMap((e) => {
    const out: number[] = [];
    for (let v = e.vid; v <= (e.vidEnd ?? e.vid); v++) out.push(v);
    return out;
  });

const filteringFindings = (s: HostState, b: BridgeSpec): LayoutFinding[] => {
  const br = linkByName(s, b.name);
  const up = b.uplinkPort;
  if (!br?.bridge?.vlanFiltering || !up || !linkByName(s, up)) return [];
  const out: LayoutFinding[] = [];
  const upEntries = entriesOf(s, up);
  // dom0's side: its veth port, or the bridge device itself when dom0's address lives there.
  const dom0Dev = b.dom0.peer !== b.name && linkByName(s, b.dom0.peer)?.master === b.name ? b.dom0.peer : b.name;
  const upPvid = upEntries.find((e) => e.pvid && e.untagged);
  const d0Pvid = entriesOf(s, dom0Dev).find((e) => e.pvid && e.untagged);
  if (upPvid && d0Pvid && upPvid.vid !== d0Pvid.vid) {
    out.push({
      level: 'error', rule: 'pvid-mismatch',
      message: `${dom0Dev} (dom0's side of ${b.name}) has PVID ${d0Pvid.vid} but the uplink ${up} has PVID ${upPvid.vid}: dom0's untagged frames join VLAN ${d0Pvid.vid} inside ${b.name} and leave ${up} tagged or not at all`,
      evidence: [entriesText(s, dom0Dev), entriesText(s, up)],
      fix: `bridge vlan add dev ${dom0Dev}${dom0Dev === b.name ? ' self' : ''} vid ${upPvid.vid} pvid untagged (or give ${up} PVID ${d0Pvid.vid})`,
    });
  }
  const ports = s.links.filter((l) => l.master === b.name && l.name !== up);
  const carried = new Map<number, string[]>();
  for (const dev of [b.name, ...ports.map((p) => p.name)]) {
    for (const v of vidsOf(entriesOf(s, dev))) if (v !== 1) carried.set(v, [...(carried.get(v) ?? []), dev]);
  }
  for (const [vid, devs] of [...carried].sort((x, y) => x[0] - y[0])) {
    if (upEntries.some((e) => covers(e, vid))) continue;
    out.push({
      level: 'error', rule: 'vid-not-on-uplink',
      message: `VLAN ${vid} is on ${devs.join(', ')} but the uplink ${up} of ${b.name} does not carry it: VLAN ${vid} never leaves or reaches the host`,
      evidence: [entriesText(s, up), ...devs.slice(0, 3).map((d) => entriesText(s, d))],
      fix: `bridge vlan add dev ${up} vid ${vid}`,
    });
  }
  return out;
};

export const layoutFindings = (t: Topology, s: HostState): LayoutFinding[] => [
  ...vlanOnPort(s),
  ...lint(s).filter((f) => f.rule !== 'vlan-on-bridge-port').map((f) => ({ ...f, evidence: [] })),
  ...t.bridges.flatMap((b) => filteringFindings(s, b)),
];
