/**
 * One host's network as migration sees it, from either a topology file or `show --format json`:
 * the bridges a domU can be attached to, their mode, MTU and uplink, and the VLANs they carry.
 */
import type { BridgeMode, Topology, VidRange } from '../model/topology.js';
import type { Shown } from '../show/model.js';
import { normalize, single } from './vid-set.js';

export interface NetVlan {
  id: number;
  /** Classic mode: the per-VLAN bridge a domU's vif names. */
  bridge?: string;
}

export interface NetBridge {
  name: string;
  mode: BridgeMode;
  /** undefined: not set in the file (the NIC's MTU applies). */
  mtu?: number;
  /** The NIC's name as a bridge port. */
  uplink?: string;
  vlans: NetVlan[];
  /** Every VID a domU may use: dom0's VLANs and the vif allow-list (or, live, the trunk's VIDs). */
  allowed: VidRange[];
}

export interface HostNet {
  host: string;
  file: string;
  from: 'show' | 'topology';
  bridges: NetBridge[];
}

export const fromTopology = (t: Topology, host: string, file: string): HostNet => ({
  host, file, from: 'topology',
  bridges: t.bridges.map((b) => ({
    name: b.name, mode: b.mode, mtu: b.mtu, uplink: b.uplinkPort,
    vlans: b.vlans.map((v) => ({ id: v.id, bridge: v.bridge })),
    allowed: normalize([...b.vlans.map((v) => single(v.id)), ...b.vifVlans]),
  })),
});

export const fromShown = (s: Shown, host: string, file: string): HostNet => ({
  host, file, from: 'show',
  bridges: s.bridges.map((b) => ({
    name: b.name, mode: b.mode, mtu: b.mtu, uplink: b.uplink?.name,
    vlans: b.vlans.map((v) => ({ id: v.id, bridge: v.bridge })),
    allowed: normalize([...b.vlans.map((v) => single(v.id)), ...(b.trunkVids ?? []).map(single)]),
  })),
});
