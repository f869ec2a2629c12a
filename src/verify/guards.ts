/** verify's findings for vif guards (apply/guard-check.ts). */
import type { GuardCheck, GuardState } from '../apply/guard-check.js';
import type { Finding } from './lint.js';

const WHAT: Record<Exclude<GuardState, 'ok' | 'retired'>, string> = {
  missing: 'has no guard in the kernel: its frames are not checked (VLAN, MAC, addresses)',
  incomplete: 'has only part of its guard (a chain or map element is gone)',
  differs: 'has a guard other than the one its xenstore keys gave it',
  orphan: 'has guard rules but no attached port (or no record of them)',
};

export const guardFindings = (checks: GuardCheck[]): Finding[] =>
  // A retired guard is expected: its port is gone, so it checks no frame, and it is removed later.
  checks.filter((c) => c.state !== 'ok' && c.state !== 'retired').map((c) => ({
    level: c.state === 'orphan' ? 'warning' : 'error',
    rule: `vif-guard-${c.state}`,
    message: `${c.dev} ${WHAT[c.state as Exclude<GuardState, 'ok' | 'retired'>]}`,
    fix: c.state === 'orphan' ? (c.record ? 'xenbridge apply (removes it)' : `nft delete element bridge xenbridge vifs-in { "${c.dev}" } (and vifs-out), then nft delete chain bridge xenbridge in-${c.dev} (and out-${c.dev})`) : 'xenbridge apply (re-creates it from the record the vif hook wrote)',
  }));
