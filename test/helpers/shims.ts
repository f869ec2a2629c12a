/**
 * PATH shims that let a test step the hook script and the service one move at a time instead of
 * sleeping: a `sleep` that ends only when the test gives a tick (the hook's ticker), and a gate
 * that holds one command (mv of a taken event, the service's mkfifo) until the test opens it.
 */
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { waitFor } from './hookd.js';

export interface Shim {
  /** The directory to put first on PATH. */
  bin: string;
  /** Ends every shim still waiting (they also give up on their own after 60 s). */
  end(): void;
}

const make = (dir: string, cmd: string, body: string): Shim => {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, cmd), `#!/bin/sh\n${body}\n`);
  chmodSync(join(bin, cmd), 0o755);
  return { bin, end: () => writeFileSync(join(dir, 'end'), '') };
};

/** Polls (bounded) until cond holds or the test ends the shim. */
const until = (dir: string, cond: string): string =>
  `i=0; while [ ! -e '${dir}/end' ] && [ $i -lt 3000 ] && ! ${cond}; do /bin/sleep 0.02; i=$((i + 1)); done`;

export interface Ticker extends Shim {
  /** One tick of the hook's ticker; returns once it was taken, or the hook has ended. */
  tick(hook: ResultPromise): Promise<void>;
}

/** The hook's `sleep 2`: each call ends when the test gives it a tick (the file go, taken by rename). */
export const ticker = (dir: string): Ticker => {
  const go = join(dir, 'go');
  const s = make(dir, 'sleep', until(dir, `/bin/mv '${go}' '${dir}/took.'$$ 2>/dev/null`));
  return {
    ...s,
    tick: async (hook) => {
      writeFileSync(go, '');
      await waitFor('a tick taken', () => !existsSync(go) || hook.exitCode !== null);
      rmSync(go, { force: true });
    },
  };
};

export interface Gate extends Shim {
  /** The gated command has been reached and waits. */
  reached(): boolean;
  open(): void;
}

/** cmd (its real one in /bin) waits at the gate when its first argument matches the sh pattern. */
export const gate = (dir: string, cmd: string, pattern = '*'): Gate => {
  const open = join(dir, 'open');
  const s = make(dir, cmd, `case "$1" in ${pattern}) : > '${dir}/reached'; ${until(dir, `[ -e '${open}' ]`)} ;; esac\nexec /bin/${cmd} "$@"`);
  return { ...s, reached: () => existsSync(join(dir, 'reached')), open: () => writeFileSync(open, '') };
};

/** PATH with the shims' directories first. */
export const shimPath = (path: string, ...shims: Shim[]): string => [...shims.map((s) => s.bin), path].join(':');
