import { describe, expect, it } from 'vitest';
import { orderRenames, type Move } from '../../../src/names/order.js';

const text = (ms: Move[]): string[] => ms.map((m) => `${m.from}->${m.to}`);

/** Runs the renames on a set of names, failing on any step that would hit a name in use. */
const replay = (taken: string[], ms: Move[]): Set<string> => {
  const names = new Set(taken);
  for (const m of ms) {
    if (!names.has(m.from)) throw new Error(`${m.from} does not exist`);
    if (names.has(m.to)) throw new Error(`${m.to} is in use`);
    names.delete(m.from);
    names.add(m.to);
  }
  return names;
};

describe('rename order', () => {
  it('renames into free names directly', () => {
    expect(text(orderRenames([{ from: 'eth0', to: 'fe0' }, { from: 'eth1', to: 'be0' }], new Set(['lo', 'eth0', 'eth1'])))).toEqual(['eth0->fe0', 'eth1->be0']);
  });

  it('swaps eth0 and eth1 through a temporary name', () => {
    const moves = [{ from: 'eth0', to: 'eth1' }, { from: 'eth1', to: 'eth0' }];
    const out = orderRenames(moves, new Set(['eth0', 'eth1']));
    expect(text(out)).toEqual(['eth0->xb-swap0', 'eth1->eth0', 'xb-swap0->eth1']);
    expect([...replay(['eth0', 'eth1'], out)].sort()).toEqual(['eth0', 'eth1']);
  });

  it('runs a chain from its free end', () => {
    const out = orderRenames([{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'd' }], new Set(['a', 'b', 'c']));
    expect(text(out)).toEqual(['c->d', 'b->c', 'a->b']);
  });

  it('breaks a three-way rotation plus an unrelated move, with the temporary name not already taken', () => {
    const taken = ['eth0', 'eth1', 'eth2', 'eth3', 'xb-swap0'];
    const moves = [{ from: 'eth0', to: 'eth1' }, { from: 'eth1', to: 'eth2' }, { from: 'eth2', to: 'eth0' }, { from: 'eth3', to: 'mg0' }];
    const out = orderRenames(moves, new Set(taken));
    expect(text(out)).toEqual(['eth3->mg0', 'eth0->xb-swap1', 'eth2->eth0', 'eth1->eth2', 'xb-swap1->eth1']);
    expect([...replay(taken, out)].sort()).toEqual(['eth0', 'eth1', 'eth2', 'mg0', 'xb-swap0']);
  });

  it('refuses a target held by a link that does not move (the planner reports it first)', () => {
    expect(() => orderRenames([{ from: 'eth0', to: 'br0' }], new Set(['eth0', 'br0']))).toThrow(/blocked by a link that does not move/);
  });
});
