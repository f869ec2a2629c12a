/** The xenbridge CLI run: a thin shell over the library. Exit codes by error kind (see errors.ts). */
import { type Command, CommanderError } from 'commander';
import { XbError } from '../errors.js';
import { hungUp, lostOutput, report, setDebug } from './output.js';
import { createProgram, type CliRun } from './program.js';

export interface Prepared {
  run: CliRun;
  program: Command;
}

/** The command tree for one run (a startup snapshot builds it once, without the version). */
export const prepare = (withVersion = true): Prepared => {
  const run: CliRun = { code: 0, jsonErrors: false };
  return { run, program: createProgram(run, withVersion) };
};

/**
 * A command that succeeded but could not write what it printed (a file on a full disk) fails with
 * one line (itself lost if that was stderr; the exit code is not). A reader gone (`| head`) is not
 * that, nor a failed command, whose own error stands; nor the vif hook, whose code xl acts on.
 */
const delivered = (code: number, run: CliRun): number => {
  const why = lostOutput();
  if (why === undefined || code !== 0 || run.fixedErrorCode !== undefined) return code;
  return report(new XbError('command', `cannot write the output to ${why}`), false);
};

/** Runs one command line (process.argv's shape: node, script, args…) and returns its exit code. */
export const runCli = async (argvIn: string[], { run, program } = prepare()): Promise<number> => {
  // Whatever escapes (a callback's throw, a rejection nobody awaited) still ends as one line.
  process.on('uncaughtException', (e) => {
    process.exitCode = run.fixedErrorCode ?? report(e, run.jsonErrors);
  });
  process.on('unhandledRejection', (e) => {
    process.exitCode = run.fixedErrorCode ?? report(e, run.jsonErrors);
  });
  // A terminal that hangs up (the SSH session an apply cuts, a closed laptop) must not end a change
  // half-way, with the host unreachable and nothing left to undo it: the command runs to its end
  // (verified and recorded, or undone), as the processes it starts do in sessions of their own.
  process.on('SIGHUP', hungUp);
  const argv = argvIn.filter((a) => a !== '--debug');
  setDebug(argv.length !== argvIn.length || process.env.XENBRIDGE_DEBUG === '1');
  try {
    await program.parseAsync(argv);
    return delivered(run.code, run);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return delivered(0, run);
      return report(new XbError('usage', e.message.replace(/^error: /, ''), { detail: ['see xenbridge --help'] }), false);
    }
    const rc = report(e, run.jsonErrors);
    return run.fixedErrorCode ?? rc;
  }
};
