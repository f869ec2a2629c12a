// Which links an earlier apply made, from its recorded steps: renames followed, deletions
// forgotten, a peer made in another namespace not counted, the NIC (renamed, never made) not counted.
import { describe, expect, it } from 'vitest';
import type { Op } from '../../src/plan/ops.js';
import type { Step } from '../../src/plan/steps.js';
import { madeLinks, staleFindings } from '../../src/verify/stale.js';
import type { HostState, Link } from '../../src/state/types.js';

const step = (op: Op): Step => ({ op, undo: [] });
const STEPS: Step[] = [
  step({ kind: 'rename', from: 'eth0', to: 'peth0' }),
  step({ kind: 'addBridge', dev: 'xenbr0', opts: { stp: false, forwardDelay: 0, vlanFiltering: false } }),
  step({ kind: 'addVeth', dev: 'eth0', peer: 'xenbr0-d0' }),
  step({ kind: 'addVlan', dev: 'eth0.10', parent: 'eth0', id: 10 }),
  step({ kind: 'rename', from: 'eth0.10', to: 'vl10' }),
  step({ kind: 'addVeth', dev: 'probe0', peer: 'probe1', peerNetns: 'xbsw' }),
  step({ kind: 'addBridge', dev: 'gone', opts: { stp: false, forwardDelay: 0, vlanFiltering: false } }),
  step({ kind: 'delLink', dev: 'gone' }),
];
const state = (names: string[]): HostState => ({ links: names.map((name) => ({ name }) as Link), routes: [], vlans: [], kernel: '6.12.0' });

describe('links made by earlier applies', () => {
  it('follows renames and deletions', () => {
    expect([...madeLinks(STEPS)].sort()).toEqual(['eth0', 'probe0', 'vl10', 'xenbr0', 'xenbr0-d0']);
  });

  it('warns of each one that is live and not declared, in name order', () => {
    const live = state(['lo', 'peth0', 'xenbr0', 'eth0', 'xenbr0-d0', 'vl10', 'probe0']);
    const f = staleFindings(STEPS, new Set(['peth0', 'xenbr0', 'eth0', 'xenbr0-d0']), live);
    expect(f.map((x) => [x.level, x.rule, x.message])).toEqual([
      ['warning', 'left-by-earlier-apply', 'probe0 was made by an earlier apply and the file no longer declares it: apply leaves it in place'],
      ['warning', 'left-by-earlier-apply', 'vl10 was made by an earlier apply and the file no longer declares it: apply leaves it in place'],
    ]);
    expect(staleFindings(STEPS, new Set(['xenbr0', 'eth0', 'xenbr0-d0', 'vl10', 'probe0']), live)).toEqual([]);
    expect(staleFindings(STEPS, new Set(), state(['lo', 'peth0']))).toEqual([]);
  });
});
