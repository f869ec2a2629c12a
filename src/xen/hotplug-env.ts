/**
 * What xl tells a vif script, checked strictly: `online|offline type_if=vif` for PV vifs (device
 * `vif`), `add|remove type_if=tap` for HVM emulated NICs (device `INTERFACE`, vifD.N-emu).
 */
import { shown, XbError } from '../errors.js';

export type VifAction = 'online' | 'offline' | 'add' | 'remove';

export interface VifEvent {
  action: VifAction;
  typeIf: 'vif' | 'tap';
  /** The kernel device xl/netback/QEMU created. */
  dev: string;
  xenbusPath: string;
  domid: number;
  devid: number;
}

const usage = (msg: string): XbError =>
  new XbError('usage', msg, { detail: ['usage: vif-xenbridge online|offline type_if=vif  or  add|remove type_if=tap (env: vif, XENBUS_PATH, INTERFACE for tap)'] });

const XENBUS_RE = /^backend\/vif\/(\d{1,5})\/(\d{1,5})$/;

/** XENBUS_PATH when it names a vif backend: the place to report even a usage error, so xl fails fast. */
export const validXenbusPath = (env: Record<string, string | undefined>): string | undefined =>
  XENBUS_RE.test(env.XENBUS_PATH ?? '') ? env.XENBUS_PATH : undefined;

export const parseHotplug = (argv: string[], env: Record<string, string | undefined>): VifEvent => {
  const [action, typeArg, ...rest] = argv;
  if (rest.length > 0) throw usage(`unexpected arguments: ${rest.map((a) => shown(a)).join(' ')}`);
  if (action !== 'online' && action !== 'offline' && action !== 'add' && action !== 'remove') {
    throw usage(`unknown command ${shown(action ?? '')}`);
  }
  const typeIf = typeArg === undefined ? 'vif' : /^type_if=(vif|tap)$/.exec(typeArg)?.[1];
  if (typeIf !== 'vif' && typeIf !== 'tap') throw usage(`expected type_if=vif or type_if=tap, got ${shown(typeArg ?? '')}`);
  if ((typeIf === 'vif') !== (action === 'online' || action === 'offline')) {
    throw usage(`${action} goes with type_if=${typeIf === 'vif' ? 'tap' : 'vif'}, not type_if=${typeIf}`);
  }
  const path = env.XENBUS_PATH ?? '';
  const m = XENBUS_RE.exec(path);
  if (!m) throw usage(`XENBUS_PATH must be backend/vif/<domid>/<devid>, got ${shown(path ?? '')}`);
  const domid = Number(m[1]);
  const devid = Number(m[2]);
  const dev = typeIf === 'vif' ? env.vif ?? '' : env.INTERFACE ?? '';
  const expected = typeIf === 'vif' ? `vif${domid}.${devid}` : `vif${domid}.${devid}-emu`;
  if (dev !== expected) {
    throw usage(`${typeIf === 'vif' ? 'vif' : 'INTERFACE'} must be ${expected} for ${path}, got ${shown(dev ?? '')}`);
  }
  return { action, typeIf, dev, xenbusPath: path, domid, devid };
};
