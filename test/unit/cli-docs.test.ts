// xenbridge(8) and the bash completion are generated from the command tree that parses the command
// line; checked here against commander's own --help of every command, so a flag cannot be in the
// parser and missing from either, or the other way round.
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../../src/cli/program.js';
import { cliTree } from '../../src/package/cli-tree.js';
import { bashCompletion } from '../../src/package/completion.js';
import { manPage5, manPage8 } from '../../src/package/man.js';
import { esc } from '../../src/package/roff.js';
import { ROOT } from '../helpers/sh.js';
import { readFileSync } from 'node:fs';

const program = createProgram({ code: 0, jsonErrors: false });
const page = manPage8(cliTree(program), { version: '0.0.0', date: '2026-01-01' });
const completion = bashCompletion(cliTree(program));

/** The flags of one command as its --help prints them. */
const helpFlags = (help: string): string[] => {
  const options = help.split('\n\n').find((b) => b.startsWith('Options:')) ?? '';
  return [...options.matchAll(/^ {2}(-[\w-]+)(?:, (--[\w-]+))?/gm)].flatMap((m) => [m[1]!, ...(m[2] ? [m[2]] : [])]);
};

const manSection = (name: string): string => {
  const start = page.indexOf(`.SS ${esc(name)}\n`);
  const end = page.indexOf('\n.S', start + 1);
  return page.slice(start, end);
};

const completionCase = (name: string): string => completion.split('\n').find((l) => l.trimStart().startsWith(`${name}) opts=`)) ?? '';

const commands = program.commands.filter((c) => !(c as unknown as { _hidden: boolean })._hidden);

describe('xenbridge(8) and bash completion cover the CLI', () => {
  it('every visible command, and only those, has a man page section and a completion case', () => {
    expect(commands.length).toBeGreaterThan(10);
    const names = [...page.matchAll(/^\.SS (.+)$/gm)].map((m) => m[1]);
    expect(names).toEqual([...commands.map((c) => esc(c.name())), 'help']);
    for (const c of commands) expect(completionCase(c.name()), c.name()).not.toBe('');
    expect(page).not.toContain('revert\\-timer');
    expect(completion).not.toContain('revert-timer');
  });

  for (const c of commands) {
    it(`${c.name()}: every flag of its --help is in its man section and its completion`, () => {
      const flags = helpFlags(c.helpInformation());
      if (c.name() !== 'vif') expect(flags).toContain('--help');
      for (const f of flags) {
        expect(manSection(c.name()), `${c.name()} ${f} in xenbridge.8`).toContain(esc(f));
        expect(completionCase(c.name()).split(/[" ]/), `${c.name()} ${f} in the completion`).toContain(f);
      }
      const offered = completionCase(c.name()).replace(/^.*opts="|".*$/g, '').split(' ').filter(Boolean);
      expect(offered.sort()).toEqual([...flags].sort());
    });
  }

  it('the top level offers the commands and --version, --help', () => {
    expect(helpFlags(program.helpInformation())).toEqual(['-V', '--version', '-h', '--help']);
    for (const f of ['--version', '--help']) expect(page).toContain(esc(f));
  });

  it('the completion completes commands, flags and file arguments in bash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xenbridge-compl-'));
    try {
      writeFileSync(join(dir, 'xenbridge'), completion);
      const complete = async (line: string): Promise<string[]> => {
        const words = line.split(' ');
        const script = `source ${join(dir, 'xenbridge')}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; cd ${dir}; _xenbridge; printf '%s\\n' "\${COMPREPLY[@]}"`;
        return (await execa('bash', ['-c', script])).stdout.split('\n').filter(Boolean).sort();
      };
      expect(await complete('xenbridge ap')).toEqual(['apply']);
      expect(await complete('xenbridge apply --d')).toEqual(['--dry-run']);
      expect(await complete('xenbridge plan --format ')).toEqual([]);
      expect(await complete('xenbridge plan -c xen')).toEqual(['xenbridge']);
      expect(await complete('xenbridge install --')).toEqual(helpFlags(program.commands.find((c) => c.name() === 'install')!.helpInformation()).filter((f) => f.startsWith('--')).sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('man(1) renders both pages without a warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xenbridge-man-'));
    try {
      writeFileSync(join(dir, 'xenbridge.8'), page);
      writeFileSync(join(dir, 'xenbridge-topology.5'), manPage5(readFileSync(join(ROOT, 'README.md'), 'utf8'), { version: '0.0.0', date: '2026-01-01' }));
      for (const f of ['xenbridge.8', 'xenbridge-topology.5']) {
        const r = await execa('man', ['--warnings', '-l', join(dir, f)], { reject: false, env: { MANWIDTH: '100', MAN_KEEP_FORMATTING: '' } });
        expect([r.exitCode, r.stderr], f).toEqual([0, '']);
        expect(r.stdout.length, f).toBeGreaterThan(1000);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
