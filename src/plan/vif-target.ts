/**
 * The allow-list: which bridge (and VLAN entries) a vif's xenstore `bridge` request maps to, or a
 * refusal. A domU never lands on a bridge or VLAN the topology does not declare.
 */
import { XbError } from '../errors.js';
import { defaultVlanBridge, defaultVlanDevice, ifnameProblem } from '../model/ifname.js';
import { vidAllowed, type BridgeSpec, type Topology, type VidRange } from '../model/topology.js';
import type { VlanEntry } from '../state/types.js';
import type { BridgeRequest } from '../model/bridge-spec.js';

export interface VifTarget {
  spec: BridgeSpec;
  /** The bridge device the vif becomes a port of. */
  bridge: string;
  /** Filtering mode: the port's VLAN entries (dev filled in by the caller). */
  entries: Omit<VlanEntry, 'dev'>[];
  /** Filtering mode: keep the default untagged PVID 1 (the native network). */
  keepNative: boolean;
  /** Classic mode: a vif-vlans VLAN whose device and bridge are made on demand. */
  onDemand?: { id: number; device: string; bridge: string };
  /** The frames the port carries, enforced per frame (plan/guard.ts); absent: any (insecure-vif-all-tags). */
  shape?: { untagged: boolean; tagged: VidRange[] };
}

const refuse = (msg: string, b?: BridgeSpec): XbError => {
  const allowed = b ? [`vlans: ${b.vlans.map((v) => v.id).join(', ') || 'none'}`, `vif-vlans: ${b.vifVlans.map((r) => (r.start === r.end ? `${r.start}` : `${r.start}-${r.end}`)).join(', ') || 'none'}`] : [];
  return new XbError('xenstore', msg, { detail: allowed });
};

const describeBridges = (t: Topology): string => t.bridges.map((b) => b.name).join(', ') || 'none';

/** A classic per-VLAN bridge named directly (bridge=xenbr0v10) means the same as xenbr0.10. */
const asVlanBridge = (req: BridgeRequest, t: Topology): BridgeRequest | undefined => {
  for (const b of t.bridges) {
    const v = b.vlans.find((x) => x.bridge === req.bridge);
    if (!v) continue;
    const other = req.trunks.length > 0 || (req.untagged ?? []).length > 0 || (req.tag !== undefined && req.tag !== v.id);
    if (other) throw refuse(`bridge ${req.bridge} is VLAN ${v.id}'s bridge and carries only VLAN ${v.id} untagged; ask for other VLANs on ${b.name}`);
    return { bridge: b.name, tag: v.id, trunks: [] };
  }
  return undefined;
};

const ranges = (vids: number[]): VidRange[] => vids.map((v) => ({ start: v, end: v }));
const UNTAGGED_ONLY = { untagged: true, tagged: [] };

const classic = (spec: BridgeSpec, req: BridgeRequest): VifTarget => {
  const base = { spec, entries: [], keepNative: true };
  if ((req.untagged ?? []).length > 0) throw refuse(`bridge ${spec.name}: further untagged VLANs need mode: filtering`);
  if (req.trunks.length > 0) {
    if (req.tag !== undefined) throw refuse(`bridge ${spec.name}: a native VLAN with tagged VLANs needs mode: filtering`);
    return { ...base, bridge: spec.name, shape: { untagged: false, tagged: ranges(req.trunks) } };
  }
  if (req.tag === undefined) return { ...base, bridge: spec.name, ...(spec.insecureVifAllTags ? {} : { shape: UNTAGGED_ONLY }) };
  const v = spec.vlans.find((x) => x.id === req.tag);
  if (v?.bridge) return { ...base, bridge: v.bridge, shape: UNTAGGED_ONLY };
  const onDemand = { id: req.tag, device: defaultVlanDevice(spec.dom0.ifname, req.tag), bridge: defaultVlanBridge(spec.name, req.tag) };
  const why = ifnameProblem(onDemand.device) ?? ifnameProblem(onDemand.bridge);
  if (why) throw refuse(`VLAN ${req.tag} on ${spec.name}: ${why}`);
  return { ...base, bridge: onDemand.bridge, onDemand, shape: UNTAGGED_ONLY };
};

const filtering = (spec: BridgeSpec, req: BridgeRequest): VifTarget => {
  const extra = req.untagged ?? [];
  if (req.tag === undefined && req.trunks.length === 0 && extra.length === 0) {
    if (!spec.insecureVifAllTags) return { spec, bridge: spec.name, entries: [], keepNative: true, shape: UNTAGGED_ONLY };
    const all = [...spec.vlans.map((v) => ({ vid: v.id })), ...spec.vifVlans.map((r) => ({ vid: r.start, vidEnd: r.end }))];
    return { spec, bridge: spec.name, entries: all.map((e) => ({ ...e, pvid: false, untagged: false })), keepNative: true };
  }
  const native = req.tag === undefined ? [] : [{ vid: req.tag, pvid: true, untagged: true }];
  const entries = [...native, ...extra.map((vid) => ({ vid, pvid: false, untagged: true })), ...req.trunks.map((vid) => ({ vid, pvid: false, untagged: false }))];
  return { spec, bridge: spec.name, entries, keepNative: false, shape: { untagged: native.length + extra.length > 0, tagged: ranges(req.trunks) } };
};

export const resolveTarget = (raw: BridgeRequest, t: Topology): VifTarget => {
  const req = asVlanBridge(raw, t) ?? raw;
  const spec = t.bridges.find((b) => b.name === req.bridge);
  if (!spec) throw refuse(`bridge ${req.bridge} is not in the topology (bridges: ${describeBridges(t)})`);
  for (const vid of [...(req.tag === undefined ? [] : [req.tag]), ...(req.untagged ?? []), ...req.trunks]) {
    if (!vidAllowed(spec, vid)) throw refuse(`VLAN ${vid} is not allowed on ${spec.name}`, spec);
  }
  return spec.mode === 'classic' ? classic(spec, req) : filtering(spec, req);
};
