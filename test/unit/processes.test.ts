/**
 * A process that has exited but is not yet reaped (a zombie) counts as gone: for the lock, whose
 * holder killed -9 frees it, and for the DHCP clients, whose stop must not wait for an init that
 * reaps orphans late. The zombies here are real: a shell starts a child and execs into a program
 * that never waits for it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DHCP_BATCH } from '../../src/exec/batch-text.js';
import { readDhcpClients } from '../../src/state/dhcp-clients.js';
import { procStat, running, runningSince } from '../../src/state/processes.js';
import { alive, holderAlive, startTime } from '../../src/txn/lock.js';

let dir: string;
const kills: (() => void)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xenbridge-proc-'));
});
afterEach(() => {
  for (const k of kills.splice(0)) k();
  rmSync(dir, { recursive: true, force: true });
});

/** `sleep` under another name (comm is the name it was run by). */
const named = (name: string): string => {
  const p = join(dir, name);
  symlinkSync('/bin/sleep', p);
  return p;
};

/**
 * A child of a `sleep 30` that never reaps it: NAME 0 exits at once and stays a zombie. It starts
 * only once its parent is `sleep`: a child that ended while the shell still ran would be reaped by it.
 */
const zombie = async (name: string): Promise<{ pid: number; parent: number }> => {
  const child = '( while read -r c </proc/$$/comm && [ "$c" != sleep ]; do :; done; exec "$1" 0 ) & echo $!; exec sleep 30';
  const c = spawn('sh', ['-c', child, 'sh', named(name)], { stdio: ['ignore', 'pipe', 'ignore'] });
  kills.push(() => c.kill('SIGKILL'));
  const pid = await new Promise<number>((res) => c.stdout.once('data', (d: Buffer) => res(Number(String(d).trim()))));
  for (let i = 0; i < 100 && procStat(pid)?.state !== 'Z'; i++) await new Promise((r) => setTimeout(r, 50));
  return { pid, parent: c.pid! };
};

const batch = (lines: string) => execa('sh', ['-c', DHCP_BATCH, 'sh', '', '0', '-'], { input: lines, reject: false });

describe('processes from /proc', () => {
  it('reads the name (spaces and parentheses too), the state and the start time', () => {
    const c = spawn(named('a (b) c'), ['30'], { stdio: 'ignore' });
    kills.push(() => c.kill('SIGKILL'));
    const s = procStat(c.pid!);
    expect(s).toMatchObject({ comm: 'a (b) c', state: expect.stringMatching(/^[RSD]$/), start: expect.stringMatching(/^[0-9]+$/) });
    expect(running(c.pid!, 'a (b) c')).toBe(true);
    expect(running(c.pid!, 'sleep')).toBe(false);
    expect(runningSince(c.pid!)).toBe(s!.start);
    expect([procStat(0), procStat('1/../1'), procStat(''), running(-1)]).toEqual([undefined, undefined, undefined, false]);
  });

  it('a zombie is not running, has no start time, holds no lock', async () => {
    const z = await zombie('dhcpcd');
    const s = procStat(z.pid);
    expect(s).toMatchObject({ comm: 'dhcpcd', state: 'Z' });
    expect([running(z.pid), running(z.pid, 'dhcpcd'), runningSince(z.pid), alive(z.pid), startTime(z.pid)]).toEqual([false, false, undefined, false, undefined]);
    expect(holderAlive({ pid: z.pid, start: s!.start })).toBe(false);
    expect([running(z.parent, 'sleep'), alive(z.parent)]).toEqual([true, true]);
  });
});

describe('the DHCP client batch', () => {
  const client = (pid: number): string => {
    mkdirSync(join(dir, 'dhcp', 'run'), { recursive: true });
    writeFileSync(join(dir, 'dhcp', 'run', 'eth0-4.pid'), `${pid}\n`);
    return join(dir, 'dhcp');
  };

  it('stop of a client that exited but is not reaped succeeds, and no client is counted', async () => {
    const z = await zombie('dhcpcd');
    const c = client(z.pid);
    expect(readDhcpClients(dir).running).toEqual([]);
    const r = await batch(`stop eth0 ${c}\n`);
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    expect(procStat(z.pid)?.state).toBe('Z');
  });

  it('stop of a running client ends it; a pid that is not dhcpcd is left alone', async () => {
    const d = spawn(named('dhcpcd'), ['30'], { stdio: 'ignore' });
    kills.push(() => d.kill('SIGKILL'));
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    kills.push(() => other.kill('SIGKILL'));
    const c = client(d.pid!);
    expect(readDhcpClients(dir).running).toEqual(['eth0']);
    const r = await batch(`stop eth0 ${c}\n`);
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    // Its parent (this test) reaps it whenever node gets to it: gone or a zombie, it runs no more.
    expect(running(d.pid!)).toBe(false);
    client(other.pid!);
    expect((await batch(`stop eth0 ${c}\n`)).exitCode).toBe(0);
    expect(running(other.pid!, 'sleep')).toBe(true);
  });
});
