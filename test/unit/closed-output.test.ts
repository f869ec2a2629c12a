/**
 * A reader that goes away (`xenbridge … | head`, `2>&1 | true`) must not turn an error report into
 * a loop: the EPIPE of the report's own write used to come back through the error handler, which
 * wrote again, at full CPU until killed. The command ends with its own exit code instead.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/sh.js';

/** Runs the CLI with both outputs on one pipe whose read end is closed at once; its exit code, or 'hung' after 20 s. */
const withClosedPipe = (args: string[], env: Record<string, string> = {}): Promise<number | string> => new Promise((resolve) => {
  const c = spawn(CLI, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', ...env } });
  c.stdout.destroy();
  c.stderr.destroy();
  const t = setTimeout(() => { c.kill('SIGKILL'); resolve('hung'); }, 20_000);
  c.on('exit', (code, sig) => { clearTimeout(t); resolve(code ?? `signal ${sig}`); });
});

describe('output to a closed pipe', () => {
  it('an error report ends with the error\'s exit code', async () => {
    expect(await withClosedPipe(['plan', '-c', '/nonexistent/topology.yaml'])).toBe(65);
  });
  it('a usage error too, and help', async () => {
    expect(await withClosedPipe(['plan', '--no-such-flag'])).toBe(2);
    expect(await withClosedPipe(['--help'])).toBe(0);
  });
  it('the vif hook\'s path: a hook with no event ends with 1 (the hook contract)', async () => {
    expect(await withClosedPipe(['vif'])).toBe(1);
  });
});

/** Runs the CLI with its standard output on /dev/full (every write: ENOSPC): exit code and stderr. */
const toFullDisk = (args: string[], env: Record<string, string> = {}): Promise<{ code: number | string; stderr: string }> => new Promise((resolve) => {
  const full = openSync('/dev/full', 'w');
  const c = spawn(CLI, args, { stdio: ['ignore', full, 'pipe'], env: { PATH: process.env.PATH ?? '', ...env } });
  closeSync(full);
  let stderr = '';
  c.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const t = setTimeout(() => { c.kill('SIGKILL'); resolve({ code: 'hung', stderr }); }, 20_000);
  c.on('close', (code, sig) => { clearTimeout(t); resolve({ code: code ?? `signal ${sig}`, stderr }); });
});

describe('output to a full disk', () => {
  const lost = 'xenbridge: cannot write the output to standard output: no space left\n';
  it('a command that succeeded but could not print fails with one line, whatever it printed', async () => {
    const run = mkdtempSync(join(tmpdir(), 'xenbridge-full-'));
    try {
      for (const args of [['--help'], ['--version'], ['status'], ['status', '--json']]) {
        expect([args, await toFullDisk(args, { XENBRIDGE_RUN_DIR: run })]).toEqual([args, { code: 1, stderr: lost }]);
      }
    } finally {
      rmSync(run, { recursive: true, force: true });
    }
  });
  it('a command that failed keeps its own exit code and report', async () => {
    const r = await toFullDisk(['plan', '-c', '/nonexistent/topology.yaml']);
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([65, 'xenbridge: cannot read topology file /nonexistent/topology.yaml (ENOENT)']);
  });
});
