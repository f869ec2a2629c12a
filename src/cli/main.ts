/** The xenbridge CLI: a thin shell over the library. Exit codes by error kind (see errors.ts). */
import { Command, CommanderError } from 'commander';
import { XbError } from '../errors.js';
import { registerCore, type Register } from './core-commands.js';
import { report } from './output.js';
import { registerSafe } from './safe-commands.js';

const program = new Command('xenbridge')
  .description('Declarative network setup for Xen dom0: bridges, veth, VLANs, vif hotplug, traffic verify')
  .configureOutput({ writeErr: () => undefined })
  .exitOverride();

let jsonErrors = false;
let code = 0;

const reg: Register = (name, describe, action) => {
  describe(program.command(name)).action(async (opts: Record<string, unknown>) => {
    jsonErrors = opts.json === true || opts.format === 'json';
    code = await action(opts);
  });
};

registerCore(reg);
registerSafe(reg);

const main = async (): Promise<number> => {
  try {
    await program.parseAsync(process.argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return report(new XbError('usage', e.message.replace(/^error: /, ''), { detail: ['see xenbridge --help'] }), false);
    }
    return report(e, jsonErrors);
  }
};

process.exitCode = await main();
