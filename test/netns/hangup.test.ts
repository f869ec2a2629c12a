/**
 * The admin who runs apply over SSH may lose the session to the very change it makes: the terminal's
 * hang-up reaches the command's whole process group. An apply stopped there would leave the host
 * half-changed, and nothing would undo it until someone reached the host another way.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withLock } from '../../src/txn/lock.js';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { CLI, cli } from '../helpers/sh.js';
import { TAKEOVER_ONLY } from '../helpers/topologies.js';

let sb: Sandbox;
let cfg: string;
beforeAll(async () => {
  ({ sb, cfg } = await sandboxWithTopology(TAKEOVER_ONLY));
}, 60_000);
afterAll(async () => {
  await sb.cleanup();
});

describe('a hang-up during apply', () => {
  it('does not stop it: the change is made, verified and recorded, with no interrupted run', async () => {
    let release = (): void => undefined;
    // Held here, the lock keeps the apply waiting (in node, no child running) while the hang-up comes.
    const held = withLock(join(sb.runDir, `netns-${sb.dom0}`), () => new Promise<void>((r) => { release = r; }), 5_000);
    await sleep(50);
    // Its own process group, as a shell's foreground job is: the hang-up goes to all of it.
    const c = spawn(CLI, ['apply', '-c', cfg, '--netns', sb.dom0], { env: { ...process.env, ...sb.env, XENBRIDGE_LOCK_TIMEOUT: '60' }, stdio: 'ignore', detached: true });
    const exited = new Promise<(number | string | null)[]>((resolve) => c.on('exit', (code, sig) => resolve([code, sig])));
    // Long enough for node to start and reach the lock, on a loaded machine too.
    await sleep(3_000);
    process.kill(-(c.pid ?? 0), 'SIGHUP');
    await sleep(200);
    release();
    await held;
    expect(await exited).toEqual([0, null]);
    const s = await cli(['status', '--netns', sb.dom0], sb.env);
    expect([s.code, s.stdout.includes('interrupted')]).toEqual([0, false]);
    expect((await cli(['verify', '-c', cfg, '--netns', sb.dom0], sb.env)).code).toBe(0);
    expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], sb.env)).stdout).toMatch(/^no changes/);
  }, 60_000);
});
