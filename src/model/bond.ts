/** Bonds (Linux bonding driver) a topology declares as bridge uplinks. */

export const BOND_MODES = ['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb'] as const;
export type BondMode = (typeof BOND_MODES)[number];

export const XMIT_HASH_POLICIES = ['layer2', 'layer2+3', 'layer3+4', 'encap2+3', 'encap3+4', 'vlan+srcmac'] as const;
/** The modes whose transmit path hashes flows (the kernel ignores the policy in the others). */
export const HASHING_MODES: readonly BondMode[] = ['balance-xor', '802.3ad', 'balance-tlb', 'balance-alb'];

/** A bond without link monitoring never notices a dead member; the kernel's own 802.3ad default. */
export const DEFAULT_MIIMON = 100;

export interface BondSpec {
  name: string;
  mode: BondMode;
  /** Member NICs by name (after any `names:` rename). */
  members: string[];
  /** Milliseconds. Undefined: the kernel's value stays (an adopted bond) or DEFAULT_MIIMON (a new one). */
  miimon?: number;
  lacpRate?: 'slow' | 'fast';
  xmitHashPolicy?: (typeof XMIT_HASH_POLICIES)[number];
  where: Record<string, string>;
}

/** The bond options as `ip link ... type bond` words; only those set. */
export const bondArgs = (o: Partial<Pick<BondSpec, 'mode' | 'miimon' | 'lacpRate' | 'xmitHashPolicy'>>): string =>
  [
    o.mode === undefined ? '' : `mode ${o.mode}`,
    o.miimon === undefined ? '' : `miimon ${o.miimon}`,
    o.lacpRate === undefined ? '' : `lacp_rate ${o.lacpRate}`,
    o.xmitHashPolicy === undefined ? '' : `xmit_hash_policy ${o.xmitHashPolicy}`,
  ].filter((x) => x !== '').join(' ');

/** Only the options, none of a spec's other fields: what an op carries into the journal. */
export const bondOpts = (o: Partial<Pick<BondSpec, 'mode' | 'miimon' | 'lacpRate' | 'xmitHashPolicy'>>): Partial<Pick<BondSpec, 'mode' | 'miimon' | 'lacpRate' | 'xmitHashPolicy'>> =>
  ({ mode: o.mode, miimon: o.miimon, lacpRate: o.lacpRate, xmitHashPolicy: o.xmitHashPolicy });
