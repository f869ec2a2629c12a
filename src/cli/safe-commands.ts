/** try, confirm, install, and the hidden revert-timer that apply --confirm starts. */
import type { Command } from 'commander';
import { XbError } from '../errors.js';
import type { InstallOptions } from '../install/install.js';
import { contextFor, needRoot, type CommonOpts } from './context.js';
import { trustRunDir } from './netns-arg.js';
import { applyAction, common, type Register } from './core-commands.js';
import { err, out } from './output.js';
import { DEFAULT_CONFIRM_SECONDS } from './pending-text.js';

/** commander hides only commands created with {hidden: true}; Register creates them, so set what it reads. */
const hidden = (c: Command): Command => Object.assign(c, { _hidden: true });

/** `try [SECONDS]`: the seconds arrive as an operand, handed on as apply's --confirm. */
const secondsOperand = (c: Command): Command =>
  c.usage('[SECONDS] [options]').allowExcessArguments().hook('preAction', (cmd) => {
    if (cmd.args.length > 1) throw new XbError('usage', `try takes one SECONDS value, got ${cmd.args.length}: ${cmd.args.join(' ')}`);
    cmd.setOptionValue('confirm', cmd.args[0] ?? String(DEFAULT_CONFIRM_SECONDS));
  });

const installOptions = (c: Command): Command => c
  .option('--root <dir>', 'write into this directory tree (an image) instead of /')
  .option('--bin <path>', 'the CLI path the installed files run (default: this CLI)')
  .option('--set-default [bridge]', 'in /etc/xen/xl.conf, make vif-xenbridge the default vif script and BRIDGE (default: the topology\'s only bridge) the default bridge');

const installTarget = async (o: Record<string, unknown>, what: string): Promise<InstallOptions> => {
  const root = o.root as string | undefined;
  if (root === undefined && process.getuid?.() !== 0) throw new XbError('usage', `${what} writes to /etc and needs root; --root DIR writes into a directory tree instead`);
  const setDefault = o.setDefault === undefined ? undefined : { bridge: (await import('./default-bridge.js')).defaultBridge(o.setDefault as string | true, root) };
  return { root, bin: o.bin as string | undefined, setDefault };
};

export const registerSafe = (reg: Register): void => {
  reg('try', (c) => secondsOperand(common(c.description(`apply, then revert after SECONDS (default ${DEFAULT_CONFIRM_SECONDS}) unless "xenbridge confirm" runs`))), applyAction);

  reg('confirm', (c) => common(c.description('keep the change that apply --confirm / try made'), false), async (o) => {
    needRoot('confirm');
    const { confirmChange } = await import('../apply/revert.js');
    const p = await confirmChange(contextFor(o as CommonOpts));
    out(`kept change ${p.id}: ${p.steps.length} change(s) from ${p.source}`);
    return 0;
  });

  reg('revert-timer', (c) => hidden(common(c.description('revert a pending change at its deadline (started by apply --confirm)'), false))
    .requiredOption('--id <id>', 'the pending change').option('--run-dir <dir>', 'the run directories\' root, when not /run/xenbridge'), async (o) => {
    const ns = o.netns === undefined ? '' : ` netns ${String(o.netns)}`;
    const log = (line: string): void => err(`${new Date().toISOString()} xenbridge revert-timer[${process.pid}]${ns}: ${line}`);
    const { revertWhenDue } = await import('../apply/revert.js');
    const r = await revertWhenDue(contextFor(o as CommonOpts, { failpoint: false }), String(o.id), log);
    return r !== undefined && r.errors.length > 0 ? 1 : 0;
  });

  reg('install-hook', (c) => installOptions(c.description('install only the vif hook as /etc/xen/scripts/vif-xenbridge')), async (o) => {
    const { installHook } = await import('../install/install.js');
    for (const d of installHook(await installTarget(o, 'install-hook'))) out(`wrote ${d.path}`);
    out(o.setDefault !== undefined ? 'xl now uses vif-xenbridge for every vif without script=, and its bridge for every vif without bridge=' : "use it per vif: vif = ['mac=…,bridge=xenbr0.10,script=vif-xenbridge'] (or --set-default)");
    return 0;
  });

  reg('install', (c) => installOptions(c.description('install the vif hook, xenbridge.service and a sample topology')), async (o) => {
    const root = o.root as string | undefined;
    const [{ install }, { cliBin }] = await Promise.all([import('../install/install.js'), import('../exec/paths.js')]);
    const done = install(await installTarget(o, 'install'));
    for (const d of done) out(`${d.action === 'kept' ? 'kept (exists)' : 'wrote'} ${d.path}`);
    out(`the unit and the hook run ${String(o.bin ?? cliBin())}`);
    out(root === undefined
      ? 'next: systemctl daemon-reload && systemctl enable xenbridge xenbridge-hookd   (no systemd: see README, "Safe remote changes and boot")'
      : `next, for the image: systemctl --root=${root} enable xenbridge xenbridge-hookd`);
    return 0;
  });
};
