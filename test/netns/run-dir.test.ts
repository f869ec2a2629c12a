import { execa } from 'execa';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dump, sandboxWithTopology, type Sandbox } from '../helpers/netns.js';
import { CLI } from '../helpers/sh.js';
import { EVERY_KIND_OF_STEP } from '../helpers/topologies.js';

let sb: Sandbox;
let cfg: string;
let run: string;
beforeEach(async () => {
  ({ sb, cfg } = await sandboxWithTopology(EVERY_KIND_OF_STEP.replace('    stp: true\n    forward-delay: 4\n', '')));
  run = join(sb.runDir, 'run');
  mkdirSync(run);
});
afterEach(async () => sb.cleanup());

/**
 * Runs script in a private mount namespace whose run directory is a 64 KiB tmpfs (16 pages), so
 * nothing of the machine's own mounts changes; $XB is the CLI for the sandbox's namespace.
 */
const inTinyRun = async (script: string, mountOpts = 'size=64k') => {
  const r = await execa('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o mode=0700,${mountOpts} xbtest ${run} && ${script}`], {
    reject: false,
    env: { ...sb.env, XENBRIDGE_RUN_DIR: run, XB: `node ${CLI}`, CFG: cfg, NS: sb.dom0 },
  });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
};
/** Leaves `pages` pages of a tmpfs of `size` pages free (or fills it, if less is free already). */
const fill = (pages: number, size = 16): string => `dd if=/dev/zero of=${run}/filler bs=4096 count=$((${size} - ${pages})) 2>/dev/null; true`;

const oneClearLine = (stderr: string): void => {
  expect(stderr.split('\n')[0]).toMatch(/^xenbridge: /);
  expect(stderr).not.toMatch(/\n\s+at |unexpected error|ENOSPC|EROFS/);
};

describe('a run directory that cannot take the record', () => {
  it.each([
    ['with two pages free: the space check refuses before anything runs', 2, /^xenbridge: not enough space in \S+ to record the apply \(\d+ KiB free, \d+ KiB needed\); nothing was changed$/m],
    ['full: the lock cannot be taken', 0, /^xenbridge: cannot take the lock \S+\/lock: no space left$/m],
  ])('apply %s; the kernel is untouched, exit 1', async (_n, pages, message) => {
    const before = await dump(sb.dom0);
    const r = await inTinyRun(`mkdir -p ${run}/netns-$NS && ${fill(pages)} && $XB apply -c $CFG --netns $NS`);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(message);
    oneClearLine(r.stderr);
    expect(await dump(sb.dom0)).toBe(before);
  });

  it('read-only: apply and stop say so, exit 1, and change nothing', async () => {
    const before = await dump(sb.dom0);
    for (const cmd of ['apply -c $CFG', 'stop', 'rollback']) {
      const r = await inTinyRun(`$XB ${cmd} --netns $NS`, 'ro,size=64k');
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(1);
      expect(r.stderr, cmd).toMatch(/^xenbridge: cannot create \S+: read-only file system$/m);
      oneClearLine(r.stderr);
    }
    expect(await dump(sb.dom0)).toBe(before);
  });

  it('stop on a full run directory refuses before undoing anything; with space again it restores exactly', async () => {
    const before = await dump(sb.dom0);
    // Links, IPv4 addresses and routes: what a stop would change, without what still settles after an apply (carrier, IPv6 DAD).
    // Their errors are not the command's: ip names a veth's peer namespace by looking through every
    // one in /run/netns, and says "Peer netns reference is invalid" of one another test is making.
    const snap = (name: string): string =>
      `{ ip -n $NS -o link show | awk '{print $2, $5}'; ip -n $NS -4 -o addr show | awk '{print $2, $4}'; ip -n $NS -4 route show; } > ${sb.runDir}/${name} 2>/dev/null`;
    const r = await inTinyRun(
      `$XB apply -c $CFG --netns $NS >/dev/null && ${snap('applied')} && ${fill(0, 64)} && { $XB stop --netns $NS; echo "rc=$?" >&2; }; ` +
        `${snap('after')}; rm ${run}/filler; $XB stop --netns $NS`,
      'size=256k',
    );
    expect(r.stderr, r.stderr).toMatch(/^xenbridge: (cannot take the lock \S+: no space left|not enough space in \S+ to record the stop .*)$/m);
    expect(r.stderr).toMatch(/rc=1$/m);
    oneClearLine(r.stderr);
    expect(readFileSync(join(sb.runDir, 'after'), 'utf8')).toBe(readFileSync(join(sb.runDir, 'applied'), 'utf8'));
    expect([r.code, r.stdout]).toEqual([0, expect.stringMatching(/^undid \d+ change\(s\)/)]);
    expect(await dump(sb.dom0)).toBe(before);
  });
});
