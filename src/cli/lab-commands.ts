/**
 * `xenbridge lab`: the safe built-in example. It needs 802.1Q; from the source tree, `npm run lab`
 * (test/vm/lab.sh) runs it in the VM bed on a kernel without it.
 */
import { Option, type Command } from 'commander';
import { XbError } from '../errors.js';
import { contextFor, needRoot, oneOf } from './context.js';
import type { Register } from './core-commands.js';
import { out, tick } from './output.js';

export const registerLab = (reg: Register): void => {
  reg('lab', (c: Command) => c.description('build a throwaway Xen-style network in namespaces, apply the example topology, ping every path')
    .option('--mode <mode>', 'classic | filtering', 'classic')
    .option('--keep', 'leave the namespaces for exploring')
    .option('--clean', 'remove a lab left with --keep')
    .option('--prefix <name>', 'namespace name prefix', 'xbl')
    .addOption(new Option('--check-kernel', 'exit 0 when this kernel can run the lab (802.1Q), 3 when not').hideHelp()), async (o) => {
    needRoot('lab');
    const mode = oneOf(String(o.mode), ['classic', 'filtering'] as const, '--mode');
    const prefix = String(o.prefix);
    if (!/^[a-z][a-z0-9]{0,11}$/.test(prefix)) throw new XbError('usage', `--prefix must be 1-12 lowercase letters and digits, got "${prefix}"`);
    const [{ cleanLab, runLab }, { hasVlanSupport, labNames }] = await Promise.all([import('../lab/run-lab.js'), import('../lab/sandbox.js')]);
    const ctx = contextFor({});
    const host = ctx.host;
    if (o.clean) {
      await cleanLab(ctx, labNames(prefix));
      out(`removed the lab's namespaces (${prefix}-*)`);
      return 0;
    }
    const vlans = await hasVlanSupport(host, prefix);
    if (o.checkKernel) return vlans ? 0 : 3;
    if (!vlans) {
      throw new XbError('state', 'this kernel has no 802.1Q (VLAN) support, which the lab needs', {
        detail: ['from the source tree, "npm run lab" runs the lab in a VM with Debian\'s stock kernel (test/vm)'],
      });
    }
    const r = await runLab({ mode, prefix, keep: o.keep === true, print: out, tick, context: ctx });
    return r.checks.every((c) => c.ok) ? 0 : 3;
  });
};
