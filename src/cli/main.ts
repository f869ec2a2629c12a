/** The xenbridge CLI: a thin shell over the library. Exit codes by error kind (see errors.ts). */
import { Command, CommanderError } from 'commander';
import { XbError } from '../errors.js';
import { registerCore, type Register } from './core-commands.js';
import { registerNames } from './names-commands.js';
import { report, setDebug } from './output.js';
import { registerLab } from './lab-commands.js';
import { registerVif } from './vif-commands.js';
import { registerSafe } from './safe-commands.js';

const program = new Command('xenbridge')
  .description('Declarative network setup for Xen dom0: bridges, veth, VLANs, vif hotplug, traffic verify')
  .configureOutput({ writeErr: () => undefined })
  .exitOverride();

let jsonErrors = false;
/** xl treats any non-zero exit of a vif script as failure; the hook contract is exit 1 for every error. */
let fixedErrorCode: number | undefined;
let code = 0;

const reg: Register = (name, describe, action, opts = {}) => {
  describe(program.command(name)).action(async (...params: unknown[]) => {
    const cmd = params[params.length - 1] as Command;
    const o: Record<string, unknown> = { ...cmd.opts(), args: cmd.args };
    jsonErrors = o.json === true || o.format === 'json';
    fixedErrorCode = opts.errorCode;
    code = await action(o);
  });
};

registerCore(reg);
registerNames(reg);
registerVif(reg);
registerLab(reg);
registerSafe(reg);

const main = async (): Promise<number> => {
  const argv = process.argv.filter((a) => a !== '--debug');
  setDebug(argv.length !== process.argv.length || process.env.XENBRIDGE_DEBUG === '1');
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return report(new XbError('usage', e.message.replace(/^error: /, ''), { detail: ['see xenbridge --help'] }), false);
    }
    const rc = report(e, jsonErrors);
    return fixedErrorCode ?? rc;
  }
};

// Whatever escapes (a callback's throw, a rejection nobody awaited) still ends as one line.
process.on('uncaughtException', (e) => {
  process.exitCode = fixedErrorCode ?? report(e, jsonErrors);
});
process.on('unhandledRejection', (e) => {
  process.exitCode = fixedErrorCode ?? report(e, jsonErrors);
});
process.exitCode = await main();
