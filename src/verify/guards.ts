/** verify's findings for vif guards (apply/guard-check.ts). */
import type { GuardCheck, GuardState } from '../apply/guard-check.js';
import type { Finding } from './lint.js';

const WHAT: Record<Exclude<GuardState, 'ok'>, string> = {
  missing: 'has no guard in the kernel: its frames are not checked (VLAN, MAC, addresses)',
  incomplete: 'has only part of its guard (a chain or map element is gone)',
  differs: 'has a guard other than the one its xenstore keys gave it',
  orphan: 'has guard rules but no attached port (or no record of them)',
};

export const guardFindings = (checks: GuardCheck[]): Finding[] =>
  checks.filter((c) => c.state !== 'ok').map((c) => ({
    level: c.state === 'orphan' ? 'warning' : 'error',
    rule: `vif-guard-${c.state}`,
    message: `${c.dev} ${WHAT[c.state as Exclude<GuardState, 'ok'>]}`,
    fix: c.state === 'orphan' ? `xenbridge vif offline for its vif, or nft delete chain bridge xenbridge in-${c.dev} (and out-${c.dev})` : 'xenbridge apply (re-creates it from the record the vif hook wrote)',
  }));
