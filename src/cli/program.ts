/**
 * The CLI's command tree. Built apart from running it, so that the man page and the bash completion
 * are generated from the same commands and options that parse the command line.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerCore, type Register } from './core-commands.js';
import { registerNames } from './names-commands.js';
import { registerLab } from './lab-commands.js';
import { registerVif } from './vif-commands.js';
import { registerSafe } from './safe-commands.js';
import { writeFd } from './output.js';

/** What the last action asked of the error path, and its exit code. */
export interface CliRun {
  code: number;
  jsonErrors: boolean;
  /** xl treats any non-zero exit of a vif script as failure; the hook contract is exit 1 for every error. */
  fixedErrorCode?: number;
}

/**
 * package.json sits two levels up from this module in a checkout (dist/cli/) and in the bundle
 * (/usr/lib/xenbridge/dist/cli/), which ships its own copy for exactly this.
 */
export const version = (): string =>
  (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export const DESCRIPTION = 'Declarative network setup for Xen dom0: bridges, veth, VLANs, vif hotplug, traffic verify';

/** Apart, so that a startup snapshot's command tree takes the version of the files it runs beside. */
export const addVersion = (program: Command): Command => program.version(version(), '-V, --version', 'print the version');

export const createProgram = (run: CliRun, withVersion = true): Command => {
  const program = new Command('xenbridge')
    .description(DESCRIPTION)
    .configureOutput({ writeOut: (s) => writeFd(1, s), writeErr: () => undefined })
    .exitOverride();
  if (withVersion) addVersion(program);
  const reg: Register = (name, describe, action, opts = {}) => {
    describe(program.command(name)).action(async (...params: unknown[]) => {
      const cmd = params[params.length - 1] as Command;
      const o: Record<string, unknown> = { ...cmd.opts(), args: cmd.args };
      run.jsonErrors = o.json === true || o.format === 'json';
      run.fixedErrorCode = opts.errorCode;
      run.code = await action(o);
    });
  };
  registerCore(reg);
  registerNames(reg);
  registerVif(reg);
  registerLab(reg);
  registerSafe(reg);
  return program;
};
