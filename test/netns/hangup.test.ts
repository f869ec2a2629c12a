/**
 * The admin who runs apply over SSH may lose the session to the very change it makes: the terminal
 * hangs up, and SIGHUP reaches the command's whole process group (from bash, passing it on to its
 * jobs, and from the kernel). An apply stopped there, or whose reads were, would leave the host
 * half-changed, and nothing would undo it until someone reached the host another way.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { withLock } from '../../src/txn/lock.js';
import { sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { CLI, cli } from '../helpers/sh.js';
import { TAKEOVER_ONLY } from '../helpers/topologies.js';

let sb: Sandbox | undefined;
afterEach(async () => {
  await sb?.cleanup();
  sb = undefined;
});

/** A sandbox whose `ip` marks (and makes last 2 s) the change's batch, and each full state read after it. */
const slowed = async (): Promise<{ sb: Sandbox; cfg: string; env: Record<string, string>; marks: string }> => {
  const made = await sandboxWithTopology(TAKEOVER_ONLY);
  sb = made.sb;
  const wrap = join(made.sb.runDir, 'wrap');
  const marks = join(made.sb.runDir, 'marks');
  mkdirSync(wrap);
  mkdirSync(marks);
  writeFileSync(join(wrap, 'ip'), `#!/bin/sh
case "$*" in *"-batch /"*) touch ${marks}/batch; sleep 2 ;; *"-j -d -batch -"*) [ -e ${marks}/batch ] && touch ${marks}/read.$$ && sleep 2 ;; esac
exec /usr/sbin/ip "$@"
`);
  chmodSync(join(wrap, 'ip'), 0o755);
  return { ...made, env: { ...made.sb.env, PATH: `${wrap}:${made.sb.env.PATH}` }, marks };
};

const clean = async (s: Sandbox, cfg: string): Promise<void> => {
  const st = await cli(['status', '--netns', s.dom0], s.env);
  expect([st.code, st.stdout.includes('interrupted')]).toEqual([0, false]);
  expect((await cli(['verify', '-c', cfg, '--netns', s.dom0], s.env)).code).toBe(0);
  expect((await cli(['apply', '-c', cfg, '--netns', s.dom0], s.env)).stdout).toMatch(/^no changes/);
};

describe('a hang-up during apply', () => {
  it('does not stop it: the change is made, verified and recorded, with no interrupted run', async () => {
    const made = await sandboxWithTopology(TAKEOVER_ONLY);
    sb = made.sb;
    let release = (): void => undefined;
    // Held here, the lock keeps the apply waiting (in node, no child running) while the hang-up comes.
    const held = withLock(join(sb.runDir, `netns-${sb.dom0}`), () => new Promise<void>((r) => { release = r; }), 5_000);
    await sleep(50);
    // Its own process group, as a shell's foreground job is: the hang-up goes to all of it.
    const c = spawn(CLI, ['apply', '-c', made.cfg, '--netns', sb.dom0], { env: { ...process.env, ...sb.env, XENBRIDGE_LOCK_TIMEOUT: '60' }, stdio: 'ignore', detached: true });
    const exited = new Promise<(number | string | null)[]>((resolve) => c.on('exit', (code, sig) => resolve([code, sig])));
    // Long enough for node to start and reach the lock, on a loaded machine too.
    await sleep(3_000);
    process.kill(-(c.pid ?? 0), 'SIGHUP');
    await sleep(200);
    release();
    await held;
    expect(await exited).toEqual([0, null]);
    await clean(sb, made.cfg);
  }, 60_000);

  it('does not kill the state reads that check the change, however often it comes', async () => {
    const { sb: s, cfg, env, marks } = await slowed();
    const c = spawn(CLI, ['apply', '-c', cfg, '--netns', s.dom0], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    c.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    let status: (number | string | null)[] | undefined;
    c.on('exit', (code, sig) => { status = [code, sig]; });
    const hit = new Set<string>();
    while (status === undefined) {
      // Each read after the batch, once it runs: SIGHUP to the command's group, as a hang-up sends it.
      for (const m of readdirSync(marks).filter((x) => x.startsWith('read.') && !hit.has(x))) {
        hit.add(m);
        process.kill(-(c.pid ?? 0), 'SIGHUP');
      }
      await sleep(10);
    }
    expect({ status, stderr, hit: hit.size > 0 }).toEqual({ status: [0, null], stderr: '', hit: true });
    await clean(s, cfg);
  }, 60_000);

  it('on its terminal: the apply ends with its own code, not in an abort of node at exit', async () => {
    const { sb: s, cfg, env, marks } = await slowed();
    // The apply on a pty of its own (its controlling terminal), which hangs up while the batch runs.
    const py = `
import os, pty, sys, time, json
marks, err, cli, cfg, ns = sys.argv[1:6]
pid, fd = pty.fork()
if pid == 0:
    e = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(e, 2)
    os.execv(cli, [cli, 'apply', '-c', cfg, '--netns', ns])
t = time.time()
while not os.path.exists(marks + '/batch') and time.time() - t < 30:
    time.sleep(0.02)
os.close(fd)
_, st = os.waitpid(pid, 0)
print(json.dumps([os.WEXITSTATUS(st) if os.WIFEXITED(st) else None, os.WTERMSIG(st) if os.WIFSIGNALED(st) else None]))
`;
    const err = join(marks, 'apply.err');
    const out = await new Promise<string>((resolve) => {
      const c = spawn('python3', ['-c', py, marks, err, CLI, cfg, s.dom0], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
      let o = '';
      c.stdout?.on('data', (b: Buffer) => { o += b.toString(); });
      c.on('close', () => resolve(o));
    });
    expect(existsSync(join(marks, 'batch'))).toBe(true);
    expect({ status: JSON.parse(out) as unknown, stderr: readFileSync(err, 'utf8') }).toEqual({ status: [0, null], stderr: '' });
    await clean(s, cfg);
  }, 60_000);
});
