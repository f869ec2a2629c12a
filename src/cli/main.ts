/** The xenbridge CLI: a thin shell over the library. Exit codes by error kind (see errors.ts). */
import { CommanderError } from 'commander';
import { XbError } from '../errors.js';
import { report, setDebug } from './output.js';
import { createProgram, type CliRun } from './program.js';

const run: CliRun = { code: 0, jsonErrors: false };
const program = createProgram(run);

const main = async (): Promise<number> => {
  const argv = process.argv.filter((a) => a !== '--debug');
  setDebug(argv.length !== process.argv.length || process.env.XENBRIDGE_DEBUG === '1');
  try {
    await program.parseAsync(argv);
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

// Whatever escapes (a callback's throw, a rejection nobody awaited) still ends as one line.
process.on('uncaughtException', (e) => {
  process.exitCode = run.fixedErrorCode ?? report(e, run.jsonErrors);
});
process.on('unhandledRejection', (e) => {
  process.exitCode = run.fixedErrorCode ?? report(e, run.jsonErrors);
});
process.exitCode = await main();
