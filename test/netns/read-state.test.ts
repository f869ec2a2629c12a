import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunner } from '../../src/exec/runner.js';
import { parseLinks } from '../../src/state/parse.js';
import { readState } from '../../src/state/read.js';
import type { Link } from '../../src/state/types.js';
import { makeSandbox, type Sandbox } from '../helpers/netns.js';
import { sh } from '../helpers/sh.js';

// A lifetime counts down between two reads.
const timeless = (links: Link[]) => links.map((l) => ({ ...l, addrs: l.addrs.map((a) => ({ ...a, validLft: a.validLft !== undefined, preferredLft: a.preferredLft !== undefined })) }));

let sb: Sandbox;
beforeAll(async () => {
  sb = await makeSandbox();
  await sb.ip('addr add 2001:db8::10/64 nodad dev eth0');
  await sb.ip('-6 route add default via 2001:db8::1 dev eth0');
  await sb.ip('-6 route add 2001:db8:5::/48 via 2001:db8::1 dev eth0 table 100');
});
afterAll(async () => sb.cleanup());

describe('reading the state', () => {
  it('sees the IPv4 and IPv6 routes of the main table, and no other table\'s', async () => {
    const s = await readState(createRunner(sb.dom0));
    const routes = s.routes.filter((r) => r.protocol !== 'kernel').map((r) => `${r.family} ${r.dst} ${r.gateway} ${r.dev}`);
    expect(routes).toEqual(['4 default 192.0.2.1 eth0', '6 default 2001:db8::1 eth0']);
  });

  it('reads the IPv6 address generation mode that `addr show` leaves out', async () => {
    await sb.ip('link set dev eth0 addrgenmode none');
    const s = await readState(createRunner(sb.dom0));
    expect(s.links.find((l) => l.name === 'eth0')?.addrGenMode).toBe('none');
  });

  it('gives each link its addresses with their flags and lifetimes, and its details', async () => {
    await sb.ip('addr add 198.51.100.7/24 broadcast + label eth0:x dev eth0');
    await sb.ip('addr add 203.0.113.9/24 valid_lft 300 preferred_lft 200 dev eth0');
    await sb.ip('addr add 2001:db8:7::1/64 noprefixroute nodad dev eth0');
    const s = await readState(createRunner(sb.dom0));
    const eth0 = s.links.find((l) => l.name === 'eth0');
    const of = (local: string) => eth0?.addrs.find((a) => a.local === local);
    expect(of('198.51.100.7')).toMatchObject({ family: 4, prefixlen: 24, broadcast: '198.51.100.255', label: 'eth0:x', scope: 'global', managed: false });
    expect(of('203.0.113.9')).toMatchObject({ managed: true, validLft: expect.any(Number), preferredLft: expect.any(Number) });
    expect(of('2001:db8:7::1')).toMatchObject({ family: 6, prefixlen: 64, flags: ['noprefixroute', 'nodad'], managed: false });
    expect(eth0).toMatchObject({ kind: 'veth', peerElsewhere: true, up: true });
    expect(s.links.find((l) => l.name === 'lo')?.addrs.map((a) => a.local)).toContain('127.0.0.1');
  });

  it('gives every link the addresses `ip addr show` lists for it, in its order', async () => {
    await sb.ip('addr add 198.51.100.8/24 dev eth0');
    await sb.ip('addr add 2001:db8:8::1/64 nodad dev lo');
    const s = await readState(createRunner(sb.dom0));
    const shown = parseLinks(JSON.parse(await sb.ip('-j addr show')));
    expect(shown.flatMap((l) => l.addrs).length).toBeGreaterThan(5);
    expect(timeless(s.links).map((l) => [l.name, l.addrs])).toEqual(timeless(shown).map((l) => [l.name, l.addrs]));
  });

  it('reads the links through a file in the run directory, and whole through a pipe when that directory is full', async () => {
    for (const n of ['xbr1', 'xbr2', 'xbr3']) await sb.ip(`link add name ${n} type bridge`);
    expect((await sb.ip('-j -d link show')).length).toBeGreaterThan(4096);
    const piped = timeless((await readState(createRunner(sb.dom0))).links);
    const dir = mkdtempSync(join(tmpdir(), 'xenbridge-full-'));
    try {
      expect(timeless((await readState(createRunner(sb.dom0), { scratchDir: dir })).links)).toEqual(piped);
      expect(readdirSync(dir)).toEqual([]);
      await sh(`mount -t tmpfs -o size=4k xbfull${process.pid} ${dir}`);
      try {
        expect(timeless((await readState(createRunner(sb.dom0), { scratchDir: dir })).links)).toEqual(piped);
        expect(readdirSync(dir)).toEqual([]);
      } finally {
        await sh(`umount ${dir}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
