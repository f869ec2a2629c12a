/**
 * `xenbridge install`: the vif hook, xenbridge.service and a sample topology, under a root directory
 * (/ on a live host; an image tree for image builders and tests). The unit goes to
 * /etc/systemd/system, where an admin's own units live: this is not a distribution package.
 */
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shown, XbError } from '../errors.js';
import { checkTreeRoot, fsReason, makeDirs } from '../exec/dirs.js';
import { cliBin } from '../exec/paths.js';
import { checkBinPath, guardsDropIn, hookdUnit, SAMPLE_TOPOLOGY, serviceUnit, vifHook, withXlDefaults } from './files.js';

export const HOOK_PATH = 'etc/xen/scripts/vif-xenbridge';
export const UNIT_PATH = 'etc/systemd/system/xenbridge.service';
export const HOOKD_UNIT_PATH = 'etc/systemd/system/xenbridge-hookd.service';
export const GUARDS_DROP_IN_PATH = 'etc/systemd/system/nftables.service.d/xenbridge-guards.conf';
export const SAMPLE_PATH = 'etc/xenbridge/topology.yaml';
export const XL_CONF_PATH = 'etc/xen/xl.conf';

export interface InstallOptions {
  root?: string;
  /** The CLI as the installed system will see it (default: this one). */
  bin?: string;
  /** Make vif-xenbridge xl's default vif script, and this (validated) bridge its default bridge. */
  setDefault?: { bridge: string };
}

export interface Installed {
  path: string;
  action: 'written' | 'kept';
}

/** Write-then-rename: xl may run the hook at any moment, and must never run half of one. */
const put = (file: string, text: string, mode: number): void => {
  makeDirs(dirname(file));
  const tmp = `${file}.xenbridge-new`;
  try {
    writeFileSync(tmp, text, { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, file);
  } catch (e) {
    throw new XbError('state', `cannot write ${shown(file, 256)}: ${fsReason(e)}`, { cause: e });
  }
};

/** Where the files go: / or --root, an existing directory of an ordinary file system. */
const under = (root: string | undefined): ((p: string) => string) => {
  if (root !== undefined) checkTreeRoot(root);
  return (p) => join(root ?? '/', p);
};

/** The vif hook alone (`xenbridge install-hook`), and xl's default vif script with setDefault. */
export const installHook = (o: InstallOptions = {}): Installed[] => {
  const at = under(o.root);
  const shim = readFileSync(fileURLToPath(new URL('../../hooks/vif-xenbridge', import.meta.url)), 'utf8');
  put(at(HOOK_PATH), vifHook(shim, checkBinPath(o.bin ?? cliBin())), 0o755);
  const done: Installed[] = [{ path: at(HOOK_PATH), action: 'written' }];
  if (o.setDefault) {
    const xl = existsSync(at(XL_CONF_PATH)) ? readFileSync(at(XL_CONF_PATH), 'utf8') : '';
    put(at(XL_CONF_PATH), withXlDefaults(xl, o.setDefault.bridge), 0o644);
    done.push({ path: at(XL_CONF_PATH), action: 'written' });
  }
  return done;
};

export const install = (o: InstallOptions = {}): Installed[] => {
  const at = under(o.root);
  const done = installHook(o);
  put(at(UNIT_PATH), serviceUnit(checkBinPath(o.bin ?? cliBin())), 0o644);
  put(at(HOOKD_UNIT_PATH), hookdUnit(checkBinPath(o.bin ?? cliBin())), 0o644);
  put(at(GUARDS_DROP_IN_PATH), guardsDropIn(checkBinPath(o.bin ?? cliBin())), 0o644);
  done.splice(1, 0, ...[UNIT_PATH, HOOKD_UNIT_PATH, GUARDS_DROP_IN_PATH].map((p) => ({ path: at(p), action: 'written' as const })));
  // An existing topology is the admin's: never overwritten.
  const sampleKept = existsSync(at(SAMPLE_PATH));
  if (!sampleKept) put(at(SAMPLE_PATH), SAMPLE_TOPOLOGY, 0o644);
  done.push({ path: at(SAMPLE_PATH), action: sampleKept ? 'kept' : 'written' });
  return done;
};
