import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dump, sandboxEach, type Sandbox } from '../helpers/netns.js';
import { alive, echoFromSwitch, pendingFile, revertedAt, revertLog, scopeDir, startEchoServer, waitFor } from '../helpers/pending.js';
import { CLI, cli } from '../helpers/sh.js';
import { TAKEOVER } from '../helpers/topologies.js';

const TOPO = TAKEOVER;

let sb: Sandbox;
let cfg: string;
sandboxEach(TOPO, (s) => ({ sb, cfg } = s));

const xb = (...args: string[]) => cli([...args, '--netns', sb.dom0], sb.env);
const status = async () => JSON.parse((await xb('status', '--json')).stdout);
const timerPid = (): number => JSON.parse(readFileSync(pendingFile(sb), 'utf8')).timer.pid;

describe('apply --confirm: kept only if confirmed in time', () => {
  it('confirm in time keeps the change in the history; the timer then leaves it alone and exits', async () => {
    const before = await dump(sb.dom0);
    // Long enough that confirm surely comes first on a loaded machine; the test then waits it out.
    const r = await xb('apply', '-c', cfg, '--confirm', '4');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^applied 17 change\(s\) from .* as change [0-9a-f]{8}\nthey are reverted in 4 s \(at .*\) unless confirmed:\n/);
    expect(r.stdout).toContain(`xenbridge confirm --netns ${sb.dom0}`);
    const s = await status();
    expect([s.applied, s.pending.changes, s.pending.applied]).toEqual([0, 17, true]);
    expect(s.pending.secondsLeft).toBeGreaterThan(0);
    expect(s.pending.secondsLeft).toBeLessThanOrEqual(4);
    const deadline = Date.parse(s.pending.deadline);
    const text = await xb('status');
    expect(text.stdout).toMatch(/pending: change [0-9a-f]{8} \(17 change\(s\) from .*\) is reverted in [1-4] s unless "xenbridge confirm" runs/);
    const pid = timerPid();

    const ok = await xb('confirm');
    expect([ok.code, ok.stdout], ok.stderr).toEqual([0, expect.stringMatching(/^kept change [0-9a-f]{8}: 17 change\(s\) from /)]);
    await waitFor('the timer to exit', () => !alive(pid), 3000);
    await waitFor('the deadline to pass', () => Date.now() > deadline + 500, 5000);
    expect((await xb('verify', '-c', cfg)).code).toBe(0);
    expect(await status()).toEqual({ applied: 17, since: expect.any(String) });
    expect(revertLog(sb)).toContain('was confirmed or rolled back; nothing to do');
    expect((await xb('confirm')).stderr).toContain('nothing to confirm');

    expect((await xb('stop')).code).toBe(0);
    expect(await dump(sb.dom0)).toBe(before);
  });

  it('no confirm: reverted at the deadline, the namespace exactly as before, TCP from the switch works again', async () => {
    const before = await dump(sb.dom0);
    const server = await startEchoServer(sb);
    try {
      expect((await xb('apply', '-c', cfg, '--confirm', '2')).code).toBe(0);
      const deadline = Date.parse((await status()).pending.deadline);
      expect(existsSync(join(sb.runDir, `netns-${sb.dom0}`, 'history.json'))).toBe(false);
      const done = await revertedAt(sb);
      expect(done).toBeGreaterThanOrEqual(deadline);
      expect(done - deadline, 'revert finished within 2.5 s of the deadline').toBeLessThan(2500);
      expect(await dump(sb.dom0)).toBe(before);
      const echo = await echoFromSwitch(sb, 800);
      expect(echo.error).toBeNull();
      expect(echo.sent).toBeGreaterThan(5);
      expect(echo.received).toBe(echo.sent);
    } finally {
      await server.stop();
    }
    const log = revertLog(sb);
    expect(log).toMatch(/no confirm by \S+: reverted change [0-9a-f]{8} \(17 step\(s\)\)\n/);
    expect(log).toContain('  ip link del dev xenbr0\n');
    expect(await status()).toEqual({ applied: 0 });
    expect((await xb('stop')).stdout).toBe('nothing to undo');
  });

  it('the CLI and its whole session killed -9 during the wait: still reverted on time', async () => {
    const before = await dump(sb.dom0);
    // The admin's SSH session: a process group holding the CLI, killed as a whole.
    const session = execa('sh', ['-c', `node ${CLI} apply -c ${cfg} --netns ${sb.dom0} --confirm 2; exec sleep 60`], { env: sb.env, detached: true, reject: false });
    await new Promise<void>((resolve) => session.stdout?.on('data', (d: Buffer) => d.toString().includes('unless confirmed') && resolve()));
    const deadline = Date.parse((await status()).pending.deadline);
    process.kill(-(session.pid as number), 'SIGKILL');
    expect((await session).signal).toBe('SIGKILL');
    expect(alive(timerPid())).toBe(true);
    const done = await revertedAt(sb);
    expect(done - deadline).toBeLessThan(2500);
    expect(await dump(sb.dom0)).toBe(before);
  });

  it('apply --confirm killed -9 halfway: the timer undoes the steps that ran, at the deadline', async () => {
    const before = await dump(sb.dom0);
    const k = 1 + Math.floor(Math.random() * 13);
    // 6 s: the status and the refused apply below must both come before the deadline, on a loaded CI runner too.
    const r = await cli(['apply', '-c', cfg, '--netns', sb.dom0, '--confirm', '6'], { ...sb.env, XENBRIDGE_FAILPOINT: `kill:${k}` });
    expect(r.code, `k=${k}`).not.toBe(0);
    const s = await xb('status');
    expect(s.code, `k=${k}`).toBe(1);
    expect(s.stdout).toMatch(/pending: change [0-9a-f]{8} from .* was interrupted while being applied; it is reverted in [0-9]+ s/);
    expect(s.stdout).toContain(`was interrupted after ${k} of 17 steps`);
    expect((await xb('apply', '-c', cfg)).stderr).toContain('was interrupted while being applied');
    await revertedAt(sb);
    expect(await dump(sb.dom0), `k=${k}`).toBe(before);
    expect(existsSync(join(scopeDir(sb), 'journal.json'))).toBe(false);
    expect(revertLog(sb)).toContain(`(${k} step(s))`);
  });

  it('a revert timer killed before its deadline: status says nothing will revert the change and exits 1; rollback still does', async () => {
    const before = await dump(sb.dom0);
    expect((await xb('apply', '-c', cfg, '--confirm', '60')).code).toBe(0);
    const pid = timerPid();
    process.kill(pid, 'SIGKILL');
    await waitFor('the timer to die', () => !alive(pid), 5000);
    const s = await xb('status');
    expect(s.code).toBe(1);
    expect(s.stdout).toMatch(/^pending: change [0-9a-f]{8} \(17 change\(s\) from .*\) is NOT reverted at its deadline: its revert timer is gone\n {2}revert timer pid \d+ is NOT running: run "xenbridge rollback" or "xenbridge confirm"$/m);
    expect(s.stdout).not.toContain('is reverted in');
    expect((await xb('rollback')).code).toBe(0);
    expect(await dump(sb.dom0)).toBe(before);
    expect((await xb('status')).code).toBe(0);
  });

  it('rollback reverts a pending change now, and the timer exits', async () => {
    const before = await dump(sb.dom0);
    expect((await xb('apply', '-c', cfg, '--confirm', '60')).code).toBe(0);
    const pid = timerPid();
    const r = await xb('rollback');
    expect([r.code, r.stdout]).toEqual([0, expect.stringMatching(/^reverted change [0-9a-f]{8} \(17 step\(s\)\)$/)]);
    expect(await dump(sb.dom0)).toBe(before);
    await waitFor('the timer to exit', () => !alive(pid), 3000);
    expect((await xb('rollback')).stdout).toBe('nothing to roll back');
  });

  it('while a change is pending another apply is refused; try [SECONDS] is apply --confirm', async () => {
    expect((await xb('try', '0', '-c', cfg)).code).toBe(2);
    expect((await xb('try', '5', '6', '-c', cfg)).code).toBe(2);
    const t = await xb('try', '30', '-c', cfg);
    expect(t.stdout).toContain('they are reverted in 30 s');
    const id = (await status()).pending.id;
    const again = await xb('apply', '-c', cfg);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^xenbridge: change [0-9a-f]{8} from .* is waiting for confirmation \([0-9]+ s left\); nothing was changed\n {2}run "xenbridge confirm" to keep it or "xenbridge rollback" to revert it, then apply again$/);
    expect((await status()).pending.id).toBe(id);
    expect(existsSync(join(scopeDir(sb), 'journal.json'))).toBe(false);
    expect((await xb('rollback')).code).toBe(0);
    const dflt = await xb('try', '-c', cfg);
    expect(dflt.stdout).toContain('they are reverted in 120 s');
    expect((await xb('rollback')).code).toBe(0);
  });
});
