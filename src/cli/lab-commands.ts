/** `xenbridge lab`: the safe built-in example. Without 802.1Q here it re-runs itself in the VM bed. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { XbError } from '../errors.js';
import { createRunner } from '../exec/runner.js';
import { needRoot, oneOf } from './context.js';
import type { Register } from './core-commands.js';
import { out, tick } from './output.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const registerLab = (reg: Register): void => {
  reg('lab', (c: Command) => c.description('build a throwaway Xen-style network in namespaces, apply the example topology, ping every path')
    .option('--mode <mode>', 'classic | filtering', 'classic')
    .option('--keep', 'leave the namespaces for exploring')
    .option('--clean', 'remove a lab left with --keep')
    .option('--prefix <name>', 'namespace name prefix', 'xbl'), async (o) => {
    needRoot('lab');
    const mode = oneOf(String(o.mode), ['classic', 'filtering'] as const, '--mode');
    const prefix = String(o.prefix);
    if (!/^[a-z][a-z0-9]{0,11}$/.test(prefix)) throw new XbError('usage', `--prefix must be 1-12 lowercase letters and digits, got "${prefix}"`);
    const [{ cleanLab, runLab }, { hasVlanSupport, labNames }] = await Promise.all([import('../lab/run-lab.js'), import('../lab/sandbox.js')]);
    const host = createRunner();
    if (o.clean) {
      await cleanLab(host, labNames(prefix));
      out(`removed the lab's namespaces (${prefix}-*)`);
      return 0;
    }
    if (!(await hasVlanSupport(host, prefix))) {
      const vm = `${ROOT}test/vm/run.sh`;
      if (!existsSync(vm)) throw new XbError('state', 'this kernel has no 802.1Q (VLAN) support and the VM bed (test/vm in the source tree) is not here');
      out('this kernel has no 802.1Q (VLAN) support: running the lab in a VM with Debian\'s stock kernel (test/vm)');
      // Preparing is cached: the first run fetches QEMU and the kernel, later ones take a second.
      const prepared = await host.passthrough(`${ROOT}test/vm/prepare.sh`, []);
      if (prepared !== 0) throw new XbError('state', 'could not prepare the VM bed (test/vm/prepare.sh failed)');
      return host.passthrough(vm, ['--', process.execPath, `${ROOT}bin/xenbridge`, 'lab', '--mode', mode, '--prefix', prefix]);
    }
    const r = await runLab({ mode, prefix, keep: o.keep === true, print: out, tick });
    return r.checks.every((c) => c.ok) ? 0 : 3;
  });
};
