/**
 * What each vif should carry: from its xenstore `bridge` (through the hook's own allow-list, so
 * "expected" means what the hook would have done), else from where the kernel has it now.
 */
import { isXbError } from '../../errors.js';
import { ipFamily } from '../../model/net.js';
import type { BridgeSpec, Topology } from '../../model/topology.js';
import type { HostState, VlanEntry } from '../../state/types.js';
import { linkByName } from '../../state/types.js';
import { parseBridgeRequest } from '../../model/bridge-spec.js';
import { resolveTarget, type VifTarget } from '../../plan/vif-target.js';
import { combineVlanKey } from '../../model/vlan-key.js';
import { readVifKeys, type Xenstore } from '../../state/xenstore.js';
import type { Tag, VifExpectation } from './types.js';

export interface VifRequest {
  vif: string;
  /** The `bridge=` value when the caller knows it; otherwise xenstore is asked. */
  bridge?: string;
}

type Carry = VifExpectation['carries'][number];

/** Filtering-mode entries as networks: PVID 1 untagged is the untagged network. */
const carriesOfEntries = (b: BridgeSpec, entries: Omit<VlanEntry, 'dev'>[]): Carry[] => {
  const out: Carry[] = [];
  for (const e of entries) {
    const end = e.vidEnd ?? e.vid;
    if (e.vid <= 1 && end >= 1 && e.pvid && e.untagged) out.push({ vid: null, tag: null });
    for (const v of b.vlans) if (v.id >= e.vid && v.id <= end) out.push({ vid: v.id, tag: e.untagged ? null : v.id });
  }
  return out;
};

const trunkCarries = (b: BridgeSpec): Carry[] => [{ vid: null, tag: null }, ...b.vlans.map((v) => ({ vid: v.id, tag: v.id }))];

/** Classic mode's trunk bridge: the port's guard lets through only what its request names. */
const shapeCarries = (b: BridgeSpec, shape: NonNullable<VifTarget['shape']>): Carry[] => [
  ...(shape.untagged ? [{ vid: null, tag: null }] : []),
  ...b.vlans.filter((v) => shape.tagged.some((r) => v.id >= r.start && v.id <= r.end)).map((v) => ({ vid: v.id, tag: v.id })),
];

/** The expectation a `bridge=` value gives, or a note saying why it gives none. */
export const expectFromRequest = (t: Topology, vif: string, raw: string, source: 'xenstore' | 'given', vlan?: string): VifExpectation => {
  try {
    const target = resolveTarget(combineVlanKey(parseBridgeRequest(raw), vlan), t);
    const b = target.spec;
    let carries: Carry[];
    if (b.mode === 'classic') {
      const v = b.vlans.find((x) => x.bridge === target.bridge);
      carries = target.bridge !== b.name ? (v ? [{ vid: v.id, tag: null }] : []) : target.shape ? shapeCarries(b, target.shape) : trunkCarries(b);
    } else {
      carries = [...(target.keepNative ? [{ vid: null, tag: null }] : []), ...carriesOfEntries(b, target.entries)];
    }
    return { vif, source, request: raw, bridge: target.bridge, carries };
  } catch (e) {
    if (!isXbError(e)) throw e;
    return { vif, source, request: raw, carries: [], note: `bridge=${raw} is refused by the hook: ${e.message}` };
  }
};

/** What the vif carries as attached now (used when xenstore cannot say what it should be). */
export const expectFromLive = (t: Topology, s: HostState, vif: string, note?: string): VifExpectation => {
  const master = linkByName(s, vif)?.master;
  for (const b of t.bridges) {
    if (master === b.name) {
      const carries = b.mode === 'classic' ? trunkCarries(b) : carriesOfEntries(b, s.vlans.filter((e) => e.dev === vif));
      return { vif, source: 'live', bridge: b.name, carries, note };
    }
    const v = b.vlans.find((x) => x.bridge !== undefined && x.bridge === master);
    if (v) return { vif, source: 'live', bridge: master, carries: [{ vid: v.id, tag: null }], note };
  }
  return { vif, source: 'live', bridge: master, carries: [], note: note ?? `${vif} is ${master ? `a port of ${master}, which is not in the file` : 'not a port of any bridge'}` };
};

/** vifD.N (or its emulated twin vifD.N-emu) -> backend/vif/D/N. */
export const xenbusPathOf = (vif: string): string | undefined => {
  const m = /^vif(\d+)\.(\d+)(?:-emu)?$/.exec(vif);
  return m ? `backend/vif/${m[1]}/${m[2]}` : undefined;
};

export const vifExpectations = async (t: Topology, s: HostState, reqs: VifRequest[], xenstore: Xenstore): Promise<VifExpectation[]> =>
  Promise.all(reqs.map(async (r): Promise<VifExpectation> => {
    if (r.bridge !== undefined) return expectFromRequest(t, r.vif, r.bridge, 'given');
    const base = xenbusPathOf(r.vif);
    if (base === undefined) return expectFromLive(t, s, r.vif, `${r.vif} is not named vifD.N: its xenstore entry is unknown`);
    try {
      const keys = await readVifKeys(xenstore, base);
      // The hook's own default: with one bridge in the file, an unset bridge means that one.
      const raw = keys.bridge ?? (t.bridges.length === 1 ? t.bridges[0]?.name : undefined);
      const ip6 = (keys.ip ?? '').split(/\s+/).filter((a) => ipFamily(a) === 6);
      const withIp6 = (x: VifExpectation): VifExpectation => (ip6.length > 0 ? { ...x, ip6 } : x);
      if (raw === undefined) return withIp6(expectFromLive(t, s, r.vif, `${base}/bridge is not set`));
      return withIp6(expectFromRequest(t, r.vif, raw, 'xenstore', keys.vlan));
    } catch (e) {
      if (!isXbError(e)) throw e;
      return expectFromLive(t, s, r.vif, `xenstore: ${e.message}`);
    }
  }));

/** The tag a vif's frames of network `vid` carry, or undefined when it should not carry it. */
export const vifTag = (x: VifExpectation, vid: number | null): Tag | undefined => x.carries.find((c) => c.vid === vid)?.tag;
