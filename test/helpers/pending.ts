/** Helpers for tests of apply --confirm: where a sandbox keeps its records, and waiting on them. */
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sandbox } from './netns.js';
import { ROOT, runs } from './sh.js';

export const scopeDir = (sb: Sandbox): string => join(sb.runDir, `netns-${sb.dom0}`);
export const pendingFile = (sb: Sandbox): string => join(scopeDir(sb), 'pending.json');
export const revertLog = (sb: Sandbox): string => readFileSync(join(scopeDir(sb), 'revert.log'), 'utf8');

export const waitFor = async (what: string, cond: () => boolean, ms: number): Promise<number> => {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now();
};

/** Resolves with the time the timer finished reverting (the pending record is removed last). */
export const revertedAt = (sb: Sandbox, ms = 15_000): Promise<number> => waitFor('the revert', () => !existsSync(pendingFile(sb)), ms);

/** A zombie (a killed detached timer the init has not reaped yet) is not alive. */
export const alive = (pid: number): boolean => runs(pid);

/** One connection from the switch namespace to dom0's echo server; the summary tcp-echo.mjs prints. */
export const echoFromSwitch = async (sb: Sandbox, ms: number): Promise<{ sent: number; received: number; error: string | null }> => {
  const client = await execa('ip', ['netns', 'exec', sb.sw, 'node', join(ROOT, 'test/helpers/tcp-echo.mjs'), 'client', '192.0.2.10', '7000', String(ms)]);
  return JSON.parse(client.stdout);
};

/** Resolves once listening, with a stop function (the process itself is a promise, so not returned). */
export const startEchoServer = async (sb: Sandbox): Promise<{ stop: () => Promise<void> }> => {
  const server = execa('ip', ['netns', 'exec', sb.dom0, 'node', join(ROOT, 'test/helpers/tcp-echo.mjs'), 'server', '7000'], { reject: false });
  await new Promise<void>((resolve) => server.stdout?.once('data', () => resolve()));
  return {
    stop: async () => {
      server.kill();
      await server;
    },
  };
};
