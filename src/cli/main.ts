/** The xenbridge CLI: a thin shell over the library. Exit codes by error kind (see errors.ts). */
import { CommanderError } from 'commander';
import { XbError } from '../errors.js';
import { report } from './output.js';
import { createProgram, type CliRun } from './program.js';

const run: CliRun = { code: 0, jsonErrors: false };
const program = createProgram(run);

const main = async (): Promise<number> => {
  try {
    await program.parseAsync(process.argv);
    return run.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return report(new XbError('usage', e.message.replace(/^error: /, ''), { detail: ['see xenbridge --help'] }), false);
    }
    const rc = report(e, run.jsonErrors);
    return run.fixedErrorCode ?? rc;
  }
};

process.exitCode = await main();
