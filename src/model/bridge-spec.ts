/** xenstore `bridge` as vif-openvswitch reads it: BR[.TAG][:T1[:T2…]]. */
import { shown, XbError } from '../errors.js';
import { ifnameProblem } from './ifname.js';

export interface BridgeRequest {
  bridge: string;
  /** Access VID (untagged on the port) or, with trunks, the native VLAN. */
  tag?: number;
  trunks: number[];
  /** xl's vlan= `u` terms: further VLANs that leave the port untagged (filtering mode only). */
  untagged?: number[];
}

const vid = (text: string, what: string, raw: string): number => {
  const n = Number(text);
  if (!/^\d{1,4}$/.test(text) || n < 1 || n > 4094) throw new XbError('xenstore', `bridge ${shown(raw)}: ${what} ${/^\d{1,9}$/.test(text) ? text : shown(text)} is not a VLAN ID (1-4094)`);
  return n;
};

export const parseBridgeRequest = (raw: string): BridgeRequest => {
  const m = /^([^.:]+)(?:\.([^.:]+))?((?::[^:]*)*)$/.exec(raw);
  if (!m || raw.length === 0) throw new XbError('xenstore', `bridge ${shown(raw)} is not BR[.TAG][:T1[:T2...]]`);
  const [, bridge = '', tagText, trunkText = ''] = m;
  const why = ifnameProblem(bridge);
  if (why) throw new XbError('xenstore', `bridge ${shown(raw)}: ${why}`);
  const tag = tagText === undefined ? undefined : vid(tagText, 'tag', raw);
  const trunks = trunkText === '' ? [] : trunkText.slice(1).split(':').map((t) => vid(t, 'trunk VLAN', raw));
  if (new Set(trunks).size !== trunks.length) throw new XbError('xenstore', `bridge ${shown(raw)}: a trunk VLAN is listed twice`);
  if (tag !== undefined && trunks.includes(tag)) throw new XbError('xenstore', `bridge ${shown(raw)}: VLAN ${tag} is both native and tagged`);
  return { bridge, tag, trunks };
};
