/** A bond uplink as `show` presents it: its options and each member's state. */
import { HASHING_MODES, type BondMode } from '../model/bond.js';
import type { HostState, Link } from '../state/types.js';

export interface ShownBond {
  mode: string;
  miimon: number;
  lacpRate?: string;
  xmitHashPolicy?: string;
  members: { name: string; up: boolean; state: string; link: string; lacpPartner?: boolean }[];
}

/** 802.1AX partner port state: in sync, collecting and distributing. */
const PARTNER_OK = 0x38;

export const isBondUplink = (l: Link): boolean => l.kind === 'bond';

export const shownBond = (s: HostState, bond: Link): ShownBond | undefined => {
  const info = bond.bond;
  if (!info) return undefined;
  const lacp = info.mode === '802.3ad';
  return {
    mode: info.mode,
    miimon: info.miimon,
    ...(lacp && info.lacpRate ? { lacpRate: info.lacpRate } : {}),
    ...(HASHING_MODES.includes(info.mode as BondMode) && info.xmitHashPolicy ? { xmitHashPolicy: info.xmitHashPolicy } : {}),
    members: s.links.filter((m) => m.master === bond.name).map((m) => ({
      name: m.name, up: m.up, state: m.bondSlave?.state ?? '', link: m.bondSlave?.miiStatus ?? '',
      ...(lacp && m.bondSlave?.partnerState !== undefined ? { lacpPartner: (m.bondSlave.partnerState & PARTNER_OK) === PARTNER_OK } : {}),
    })),
  };
};

export const bondTreeText = (b: ShownBond): string =>
  `  bond ${b.mode}: ${b.members.map((m) => `${m.name} ${m.up && m.link === 'UP' ? m.state.toLowerCase() || 'up' : 'DOWN'}${m.lacpPartner === false ? ' (no LACP partner)' : ''}`).join(', ')}`;

export const bondYaml = (name: string, b: ShownBond): Record<string, unknown> => ({
  name, mode: b.mode, members: b.members.map((m) => m.name), miimon: b.miimon,
  ...(b.lacpRate ? { 'lacp-rate': b.lacpRate } : {}),
  ...(b.xmitHashPolicy ? { 'xmit-hash-policy': b.xmitHashPolicy } : {}),
});
