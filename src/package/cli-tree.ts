/** The CLI's commands and options as plain data, read from the commander tree that parses them. */
import type { Command } from 'commander';
import { createProgram } from '../cli/program.js';

export interface CliOption {
  /** As help prints it: "-c, --config <file>". */
  term: string;
  flags: string[];
  /** The option takes a value; "path" when its value is a file or directory. */
  value?: 'path' | 'other';
  description: string;
}

export interface CliCommand {
  name: string;
  usage: string;
  description: string;
  options: CliOption[];
}

export interface CliTree {
  name: string;
  description: string;
  options: CliOption[];
  commands: CliCommand[];
}

const optionsOf = (cmd: Command): CliOption[] => {
  const help = cmd.createHelp();
  return help.visibleOptions(cmd).map((o) => ({
    term: help.optionTerm(o),
    flags: [o.short, o.long].filter((f): f is string => f !== undefined),
    ...(o.required || o.optional ? { value: /<(file|dir|path)>|\[(file|dir|path)\]/.test(o.flags) ? 'path' as const : 'other' as const } : {}),
    description: help.optionDescription(o),
  }));
};

export const cliTree = (program: Command = createProgram({ code: 0, jsonErrors: false })): CliTree => {
  const help = program.createHelp();
  return {
    name: program.name(),
    description: program.description(),
    options: optionsOf(program),
    commands: help.visibleCommands(program).map((c) => ({
      name: c.name(),
      usage: help.commandUsage(c),
      description: c.description(),
      options: optionsOf(c),
    })),
  };
};
