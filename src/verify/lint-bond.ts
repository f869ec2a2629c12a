/** Bond uplinks in the live state: every member up, and in 802.3ad agreeing with a partner. */
import type { HostState } from '../state/types.js';
import type { Finding } from './lint.js';

/** IEEE 802.1AX port state bits: synchronization, collecting, distributing. */
const IN_SYNC = 0x08;
const COLLECTING_DISTRIBUTING = 0x30;

export const lintBonds = (s: HostState): Finding[] =>
  s.links.filter((l) => l.kind === 'bond' && l.master !== undefined).flatMap((bond): Finding[] => {
    const members = s.links.filter((m) => m.master === bond.name);
    const out: Finding[] = [];
    if (members.length === 0) out.push({ level: 'error', rule: 'bond-no-members', message: `bond ${bond.name}, a port of ${bond.master}, has no members`, fix: 'enslave its NICs (xenbridge apply does for the members the file lists)' });
    for (const m of members) {
      const info = m.bondSlave;
      if (!m.up || info?.miiStatus !== 'UP') {
        out.push({ level: 'warning', rule: 'bond-member-down', message: `${m.name}, a member of bond ${bond.name}, is ${m.up ? 'without link' : 'down'}: the bond runs on fewer links`, fix: `check the cable or the switch port of ${m.name}` });
      } else if (bond.bond?.mode === '802.3ad' && info.partnerState !== undefined && (info.partnerState & (IN_SYNC | COLLECTING_DISTRIBUTING)) !== (IN_SYNC | COLLECTING_DISTRIBUTING)) {
        out.push({
          level: 'warning', rule: 'lacp-no-partner',
          message: `${m.name}, a member of 802.3ad bond ${bond.name}, has no LACP partner in sync (partner state 0x${info.partnerState.toString(16)}): it carries no traffic`,
          fix: `configure LACP on the switch ports of ${members.map((x) => x.name).join(', ')} as one aggregate`,
        });
      }
    }
    return out;
  });
