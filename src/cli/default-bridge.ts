/**
 * The bridge `install --set-default` makes xl's vif.default.bridge: the one named, or the topology's
 * only bridge. Checked like a vif's bridge= (BR[.TAG][:T1...], against the topology when it has
 * bridges), so that xl.conf never names one the hook would refuse.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadTopology } from '../config/validate.js';
import { XbError, isXbError } from '../errors.js';
import { CONFIG_PATH } from '../install/files.js';
import { parseBridgeRequest } from '../model/bridge-spec.js';
import { resolveTarget } from '../plan/vif-target.js';
import { configPath } from './context.js';

const asUsage = <T>(f: () => T): T => {
  try {
    return f();
  } catch (e) {
    if (isXbError(e) && e.kind === 'xenstore') throw new XbError('usage', `--set-default: ${e.message}`, { detail: e.detail });
    throw e;
  }
};

/** `named` is --set-default's value: a string, or true when given without one. */
export const defaultBridge = (named: string | true, root: string | undefined): string => {
  const file = root === undefined ? configPath({}) : join(root, CONFIG_PATH);
  const t = existsSync(file) ? loadTopology(file) : undefined;
  const raw = typeof named === 'string' ? named : t?.bridges.length === 1 ? t.bridges[0]!.name : undefined;
  if (raw === undefined) {
    throw new XbError('usage', `--set-default needs the bridge for vifs without bridge=: ${t ? `${file} has ${t.bridges.length} bridges` : `${file} does not exist`}`, {
      detail: ['name it: --set-default BRIDGE (e.g. --set-default xenbr0)'],
    });
  }
  const req = asUsage(() => parseBridgeRequest(raw));
  if (t && t.bridges.length > 0) asUsage(() => resolveTarget(req, t));
  return raw;
};
