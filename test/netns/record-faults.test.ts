/**
 * The run directory failing or being tampered with at the worst moments, with a takeover of the NIC:
 * its undo renames links back, so an undo run twice deletes the NIC (the veth that took its name,
 * deleted again once the NIC has its name back). Faults are real: strace makes the kernel fail one
 * rename or kill the process at one syscall, a tmpfs runs full, a FIFO or a symlink sits where a
 * record should be. After each, the namespace must end exactly as it was, NIC included.
 */
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dump, sandboxEach, type Sandbox } from '../helpers/netns.js';
import { pendingFile, revertedAt, scopeDir, waitFor } from '../helpers/pending.js';
import { CLI, cli, ROOT, sh } from '../helpers/sh.js';
import { TAKEOVER } from '../helpers/topologies.js';

const TOPO = TAKEOVER;

let sb: Sandbox;
let cfg: string;
sandboxEach(TOPO, (s) => ({ sb, cfg } = s));

const xb = (...args: string[]) => cli([...args, '--netns', sb.dom0], sb.env);
const dir = (): string => scopeDir(sb);

/** The CLI under strace, which injects a fault into the syscalls on one file (-P): the CLI's own, not its children's. */
const faulted = async (path: string, fault: string, ...args: string[]) => {
  const r = await execa('strace', ['-o', '/dev/null', '-qq', '-e', 'signal=none', '-P', path, '-e', `trace=${fault.split(':')[0]}`, '-e', `inject=${fault}`, CLI, ...args, '--netns', sb.dom0], {
    reject: false, env: sb.env, stdin: 'ignore',
  });
  return { code: r.exitCode ?? -1, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
};

const oneClearLine = (stderr: string): void => {
  expect(stderr.split('\n')[0]).toMatch(/^xenbridge: /);
  expect(stderr).not.toMatch(/\n\s+at |unexpected error/);
};

/** stop restores exactly what was there before the first apply, and has nothing left to do after. */
const stopRestores = async (before: string): Promise<void> => {
  const s = await xb('stop');
  expect(s.code, s.stderr).toBe(0);
  expect(await dump(sb.dom0)).toBe(before);
  expect((await xb('stop')).stdout).toBe('nothing to undo');
};

/**
 * An ip that, after the first recorded batch it runs, runs $AFTER_BATCH: the run directory changes
 * under the apply between its batch and its next record.
 */
const afterBatchShim = (): string => {
  const bin = join(sb.runDir, 'shim-bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'ip'), [
    '#!/bin/sh',
    '/usr/sbin/ip "$@"; rc=$?',
    'case "$*" in *-batch*/batch-*) [ -e "$SHIM_DONE" ] || { : >"$SHIM_DONE"; eval "$AFTER_BATCH"; } ;; esac',
    'exit $rc',
  ].join('\n') + '\n', { mode: 0o755 });
  return bin;
};

/** A script in a private mount namespace whose run directory is a 256 KiB tmpfs, with the shim on PATH. */
const inTinyRun = async (script: string, afterBatch: string) => {
  const run = join(sb.runDir, 'run');
  mkdirSync(run, { recursive: true });
  const r = await execa('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o mode=0700,size=256k xbtest ${run} && ${script}`], {
    reject: false,
    env: { ...sb.env, PATH: `${afterBatchShim()}:${process.env.PATH}`, XENBRIDGE_RUN_DIR: run, RUN: run, XB: CLI, CFG: cfg, NS: sb.dom0, SHIM_DONE: join(sb.runDir, 'shim-done'), AFTER_BATCH: afterBatch },
  });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
};

describe('an outcome that cannot be recorded', () => {
  it('the history cannot be written: the change is undone as a journaled run, and nothing is left for a second undo', async () => {
    const before = await dump(sb.dom0);
    const r = await cli(['apply', '-c', cfg, '--netns', sb.dom0], {
      ...sb.env, PATH: `${afterBatchShim()}:${process.env.PATH}`, SHIM_DONE: join(sb.runDir, 'shim-done'), AFTER_BATCH: `mkdir ${join(dir(), 'history.json')}`,
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^xenbridge: \S+history\.json \(the history[^)]*\) cannot be read: it is not a regular file; the change was undone$/m);
    oneClearLine(r.stderr);
    expect(existsSync(join(dir(), 'journal.json'))).toBe(false);
    expect(await dump(sb.dom0)).toBe(before);
    await sh(`rmdir ${join(dir(), 'history.json')}`);
    expect((await xb('status')).stdout).toBe('nothing applied');
    expect((await xb('rollback')).stdout).toBe('nothing to roll back');
    expect((await xb('stop')).stdout).toBe('nothing to undo');
    expect(await dump(sb.dom0)).toBe(before);
  });

  it.each([
    // The batch's own status cannot be written: whether its lines ran is unknown.
    ['during the last batch', 'dd if=/dev/zero of=$RUN/filler bs=4096 2>/dev/null', /^xenbridge: apply failed at step 1 of 17; what apply changed stays on the host\n/, '0 of 17 steps \\(17 more may have run\\)'],
    // One page left for the batch's status: the journal that says every step ran cannot be written.
    ['after the last batch', 'dd if=/dev/zero of=$RUN/filler bs=4096 count=$(($(df -B4096 --output=avail $RUN | tail -1) - 1)) 2>/dev/null',
      /^xenbridge: cannot write \S+journal\.json: no space left; what apply changed stays on the host\n/, '17 of 17 steps'],
  ])('the run directory full %s: what ran stays recorded, and rollback undoes it once', async (_n, fill, message, ran) => {
    const before = await dump(sb.dom0);
    const r = await inTinyRun([
      '$XB apply -c $CFG --netns $NS; echo "apply $?"',
      'rm $RUN/filler; $XB status --netns $NS; echo "status $?"',
      '$XB rollback --netns $NS >/dev/null; echo "rollback $?"',
      '$XB stop --netns $NS',
    ].join('; '), fill);
    expect(r.stdout, r.stderr).toMatch(new RegExp(`^apply 1\nnothing applied\ninterrupted: apply by pid \\d+ at \\S+ was interrupted after ${ran}; .*\nstatus 1\nrollback 0\nnothing to undo$`));
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/not enough space in \S+ to record the undo of the (failed|unrecorded) apply \(0 KiB free, \d+ KiB needed\)\n/);
    expect(r.stderr).toContain('"xenbridge rollback" undoes it once the run directory can be written');
    expect(r.stderr).not.toMatch(/\n\s+at |unexpected error/);
    expect(await dump(sb.dom0)).toBe(before);
  });

  it('the same under --confirm: the pending record stays, and its timer reverts the change at the deadline', async () => {
    const before = await dump(sb.dom0);
    const pending = `$RUN/netns-$NS/pending.json`;
    const r = await inTinyRun([
      '$XB apply -c $CFG --netns $NS --confirm 2; echo "apply $?"',
      `rm $RUN/filler; [ -e ${pending} ] && echo pending`,
      `i=0; while [ -e ${pending} ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done; [ -e ${pending} ] || echo reverted`,
      '$XB stop --netns $NS',
    ].join('; '), 'dd if=/dev/zero of=$RUN/filler bs=4096 2>/dev/null');
    expect(r.stdout, r.stderr).toBe('apply 1\npending\nreverted\nnothing to undo');
    expect(await dump(sb.dom0)).toBe(before);
  });
});

describe('a record that lands although its write reports a failure', () => {
  it('the history renamed into place, its directory fsync failing: the change is kept, not undone under a history that lists it', async () => {
    const before = await dump(sb.dom0);
    mkdirSync(dir(), { recursive: true, mode: 0o700 });
    // The journal before the batch, the journal after it, the history: the third directory fsync fails.
    const r = await faulted(dir(), 'fsync:error=EIO:when=3', 'apply', '-c', cfg);
    expect(r.code, r.stderr).toBe(0);
    const s = await xb('status');
    expect([s.code, s.stdout]).toEqual([0, '17 change(s) applied since ' + JSON.parse(readFileSync(join(dir(), 'history.json'), 'utf8')).started]);
    await stopRestores(before);
  });

  it('a journal whose removal failed after --confirm recorded the change: confirm ends it, and the kept change is undone once', async () => {
    const before = await dump(sb.dom0);
    mkdirSync(dir(), { recursive: true, mode: 0o700 });
    const r = await faulted(join(dir(), 'journal.json'), 'unlink:error=EIO', 'apply', '-c', cfg, '--confirm', '600');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir(), 'journal.json'))).toBe(true);
    expect((await xb('confirm')).code).toBe(0);
    expect(existsSync(join(dir(), 'journal.json'))).toBe(false);
    const s = await xb('status');
    expect([s.code, s.stdout]).toEqual([0, expect.stringMatching(/^17 change\(s\) applied since /)]);
    expect((await xb('apply', '-c', cfg)).stdout).toMatch(/^no changes/);
    await stopRestores(before);
  });
});

describe('the revert timer and a run directory that cannot be written', () => {
  it('full at the deadline: the timer waits for space instead of giving up, then reverts', async () => {
    const before = await dump(sb.dom0);
    const pending = `$RUN/netns-$NS/pending.json`;
    const r = await inTinyRun([
      '$XB apply -c $CFG --netns $NS --confirm 1 >/dev/null; echo "apply $?"',
      'dd if=/dev/zero of=$RUN/filler bs=4096 2>/dev/null; sleep 4',
      `[ -e ${pending} ] && echo "still pending"`,
      `rm $RUN/filler; i=0; while [ -e ${pending} ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done; [ -e ${pending} ] || echo reverted`,
      'grep -c "reverted change" $RUN/netns-$NS/revert.log',
    ].join('; '), 'true');
    expect(r.stdout, r.stderr).toBe('apply 0\nstill pending\nreverted\n1');
    expect(await dump(sb.dom0)).toBe(before);
  });
});

describe('confirm and the revert, interrupted', () => {
  it('confirm after a revert killed halfway finishes the revert and keeps nothing; stop then undoes nothing twice', async () => {
    const before = await dump(sb.dom0);
    expect((await xb('apply', '-c', cfg, '--confirm', '60')).code).toBe(0);
    const killed = await cli(['rollback', '--netns', sb.dom0], { ...sb.env, XENBRIDGE_FAILPOINT: 'kill:10' });
    expect(killed.code).toBe(-1);
    const c = await xb('confirm');
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/^xenbridge: nothing to confirm: the revert of change [0-9a-f]{8} was interrupted, and has now been finished$/m);
    expect(await dump(sb.dom0)).toBe(before);
    await stopRestores(before);
  });

  it('confirm killed between keeping the change and removing its pending record: the change is kept once, never pending again', async () => {
    const before = await dump(sb.dom0);
    expect((await xb('apply', '-c', cfg, '--confirm', '60')).code).toBe(0);
    const r = await faulted(pendingFile(sb), 'unlink:signal=KILL', 'confirm');
    expect(r.signal).toBe('SIGKILL');
    expect(existsSync(pendingFile(sb))).toBe(true);
    // A second apply marks the history with its own run: the confirm's mark is gone.
    writeFileSync(cfg, `${TOPO}  - name: xenbr1\n`);
    const a = await xb('apply', '-c', cfg);
    expect(a.code, a.stderr).toBe(0);
    expect(existsSync(pendingFile(sb))).toBe(false);
    const s = await xb('status');
    expect([s.code, s.stdout]).toEqual([0, expect.stringMatching(/^\d+ change\(s\) applied since /)]);
    await stopRestores(before);
  });

  it('a revert does not overwrite the journal of a later run killed halfway: both are undone', async () => {
    const before = await dump(sb.dom0);
    expect((await xb('apply', '-c', cfg, '--confirm', '60')).code).toBe(0);
    // What a verify --traffic killed -9 leaves: its probe port on the bridge and its journal.
    await sb.ip('link add xbp0 address fe:ff:ff:ff:ff:ff type veth peer name xbq0');
    await sb.ip('link set xbp0 master xenbr0 up');
    const steps = [
      { op: { kind: 'addVeth', dev: 'xbp0', mac: 'fe:ff:ff:ff:ff:ff', peer: 'xbq0' }, undo: [{ kind: 'delLink', dev: 'xbp0' }] },
      { op: { kind: 'setMaster', dev: 'xbp0', master: 'xenbr0' }, undo: [] },
      { op: { kind: 'setUp', dev: 'xbp0', up: true }, undo: [] },
    ];
    writeFileSync(join(dir(), 'journal.json'), JSON.stringify({ version: 2, id: 'aaaaaaaaaaaa', pid: 999999, started: new Date().toISOString(), what: 'verify --traffic probe ports', done: 3, steps }));
    const r = await xb('rollback');
    expect(r.code, r.stderr).toBe(0);
    expect(await dump(sb.dom0)).toBe(before);
    expect((await xb('status')).stdout).toBe('nothing applied');
  });

  it('try killed before its timer is recorded: status says nothing reverts it; the next apply drops the record, nothing having run', async () => {
    // Killed as it opens the directory to make its first record durable: the timer is not started yet.
    mkdirSync(dir(), { recursive: true, mode: 0o700 });
    const r = await faulted(dir(), 'openat:signal=KILL', 'try', '60', '-c', cfg);
    expect(existsSync(pendingFile(sb))).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    const s = await xb('status');
    expect(s.code).toBe(1);
    expect(s.stdout).toMatch(/is NOT reverted at its deadline: its revert timer is gone\n {2}no revert timer was started/);
    const a = await xb('apply', '-c', cfg);
    expect(a.code, a.stderr).toBe(0);
    expect(existsSync(pendingFile(sb))).toBe(false);
    expect((await xb('status')).code).toBe(0);
  });
});

describe('an undo interrupted after a batch with a failed line', () => {
  it('is finished after that batch, not from its failed line: the lines after it ran, and the NIC keeps its name', async () => {
    const before = await dump(sb.dom0);
    // An ip that kills the CLI once its first recorded batch matching $KILL_MATCH has run.
    const bin = join(sb.runDir, 'kill-bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'ip'), [
      '#!/bin/sh',
      '/usr/sbin/ip "$@"; rc=$?',
      'case "$*" in *-batch*/batch-*) case "$*" in *"$KILL_MATCH"*) [ -e "$KILL_MARK" ] || { : >"$KILL_MARK"; kill -9 $(ps -o ppid= -p $PPID); } ;; esac ;; esac',
      'exit $rc',
    ].join('\n') + '\n', { mode: 0o755 });
    const killing = (match: string) => ({ ...sb.env, PATH: `${bin}:${process.env.PATH}`, KILL_MATCH: match, KILL_MARK: join(sb.runDir, `killed-${match}`) });
    expect((await cli(['apply', '-c', cfg, '--netns', sb.dom0], killing('-batch'))).code).toBe(-1);
    // One line of the undo fails (the default route it moves back is gone); -force runs the rest.
    await sb.ip('route del default');
    expect((await cli(['rollback', '--netns', sb.dom0], killing('-force'))).code).toBe(-1);
    const s = await xb('status');
    expect(s.stdout).toMatch(/^interrupted: rollback of apply by pid \d+ at \S+ was interrupted after 17 of 17 steps; /m);
    const r = await xb('rollback');
    expect(r.code, r.stderr).toBe(0);
    await sb.ip('route replace default via 192.0.2.1 dev eth0');
    expect(await dump(sb.dom0)).toBe(before);
  });
});

describe('records that are not what xenbridge writes', () => {
  it.each([
    ['a FIFO', (f: string) => sh(`mkfifo ${f}`), /it is not a regular file/],
    ['a symlink to /dev/zero', (f: string) => symlinkSync('/dev/zero', f), /it is a symbolic link, which xenbridge never makes there/],
  ])('%s in place of the journal: status and apply say so at once, exit 1, and change nothing', async (_n, make, message) => {
    const before = await dump(sb.dom0);
    mkdirSync(dir(), { recursive: true, mode: 0o700 });
    await make(join(dir(), 'journal.json'));
    for (const args of [['status'], ['apply', '-c', cfg]]) {
      const r = await execa(CLI, [...args, '--netns', sb.dom0], { reject: false, env: sb.env, stdin: 'ignore', timeout: 20_000 });
      expect(r.timedOut, args[0]).toBe(false);
      expect(r.exitCode, `${args[0]}: ${r.stderr}`).toBe(1);
      expect(r.stdout + r.stderr).toMatch(message);
    }
    expect(await dump(sb.dom0)).toBe(before);
  });

  it('a FIFO left as the lock is broken like any lock no holder wrote; a directory there is named', async () => {
    mkdirSync(dir(), { recursive: true, mode: 0o700 });
    const lock = join(dir(), 'lock');
    await sh(`mkfifo ${lock} && touch -d '1 minute ago' ${lock}`);
    const a = await execa(CLI, ['apply', '-c', cfg, '--netns', sb.dom0], { reject: false, env: sb.env, stdin: 'ignore', timeout: 30_000 });
    expect(a.exitCode, a.stderr).toBe(0);
    mkdirSync(lock);
    const s = await xb('stop');
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/^xenbridge: \S+\/lock is a directory, not a lock xenbridge made$/m);
  });
});

describe('status of a run in progress', () => {
  it('an apply still running is named as running, not as interrupted', async () => {
    // An ip that holds each recorded batch for a while: the apply is caught in the middle.
    const bin = join(sb.runDir, 'slow-bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'ip'), '#!/bin/sh\ncase "$*" in *-batch*/batch-*) sleep 3 ;; esac\nexec /usr/sbin/ip "$@"\n', { mode: 0o755 });
    const apply = execa(CLI, ['apply', '-c', cfg, '--netns', sb.dom0], { reject: false, env: { ...sb.env, PATH: `${bin}:${process.env.PATH}` }, stdin: 'ignore' });
    await waitFor('the batch', () => existsSync(join(dir(), 'journal.json')) && JSON.parse(readFileSync(join(dir(), 'journal.json'), 'utf8')).inflight !== undefined, 10_000);
    const s = await xb('status');
    expect([s.code, s.stdout]).toEqual([0, expect.stringMatching(/^running: apply \(pid \d+, since \S+\), 0 of 17 step\(s\) done$/m)]);
    expect((await apply).exitCode).toBe(0);
  });
});

describe('a record written on a nearly full file system', () => {
  it('is whole or not there: a short write fails the write instead of renaming a cut file into place', async () => {
    const script = [
      'mount -t tmpfs -o size=64k,mode=0700 xbtest "$D"',
      'printf old >"$D/r.json"',
      'dd if=/dev/zero of="$D/filler" bs=4096 count=13 2>/dev/null',
      `node --input-type=module -e "const { writeDurable } = await import('${join(ROOT, 'dist/txn/store.js')}'); try { writeDurable(process.env.D + '/r.json', 'x'.repeat(40000)); console.log('written'); } catch (e) { console.log(e.message); }"`,
      'cat "$D/r.json"; echo; ls "$D"',
    ].join(' && ');
    const d = join(sb.runDir, 'tiny');
    mkdirSync(d);
    const r = await execa('unshare', ['-m', 'sh', '-c', script], { reject: false, env: { ...process.env, D: d } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(`cannot write ${d}/r.json: no space left\nold\nfiller\nr.json`);
  });
});
