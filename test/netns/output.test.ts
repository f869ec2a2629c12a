/**
 * What a command prints is written at once (writeSync): a descriptor a parent left non-blocking
 * (O_NONBLOCK on a shared pipe) answers EAGAIN when its reader is slow, and every byte must still
 * arrive, in order.
 */
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/netns.js';
import { CLI, cli } from '../helpers/sh.js';

let sb: Sandbox;
let cfg: string;
beforeAll(async () => {
  sb = await makeSandbox();
  cfg = join(sb.runDir, 'many.yaml');
  writeFileSync(cfg, `version: 1\nbridges:\n${Array.from({ length: 300 }, (_, i) => `  - name: xb${i}\n    dom0: {ifname: h${i}, peer: xb${i}-p}\n`).join('')}`);
});
afterAll(async () => sb.cleanup());

// The child's stdout: the write end of a pipe made non-blocking, read only after 1.5 s.
const SLOW_READER = `
import fcntl, os, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
p = subprocess.Popen(sys.argv[1:], stdout=w)
os.close(w)
time.sleep(1.5)
out = b''
while True:
    b = os.read(r, 65536)
    if not b:
        break
    out += b
sys.stdout.buffer.write(out)
sys.exit(p.wait())
`;

describe('a non-blocking stdout with a slow reader', () => {
  it('gets all of a plan larger than a pipe holds, as a blocking one does', async () => {
    const args = ['plan', '-c', cfg, '--netns', sb.dom0, '--format', 'json'];
    const plain = await cli(args, sb.env);
    expect(plain.code).toBe(0);
    expect(plain.stdout.length).toBeGreaterThan(4 * 65536);
    const slow = await execa('/usr/bin/python3', ['-c', SLOW_READER, CLI, ...args], { env: sb.env, reject: false, stripFinalNewline: false });
    expect([slow.exitCode, slow.stdout.length]).toEqual([0, plain.stdout.length + 1]);
    expect(slow.stdout.trimEnd()).toBe(plain.stdout);
  });
});
