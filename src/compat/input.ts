/**
 * One compat input file -> HostNet. The content decides what it is: a topology file (has
 * `version`), `xenbridge show --format json` output (has `nics`), or Ansible's --tree result of
 * running that command (its `stdout`). The host is named after the file (hosts/web1.json: web1).
 */
import { basename, extname } from 'node:path';
import { parse } from 'yaml';
import { validate } from '../config/validate.js';
import { parseSource } from '../config/load.js';
import { HOST_DUMP_MAX_BYTES, readSmallFile } from '../config/read-file.js';
import { shownAny, shownText, XbError } from '../errors.js';
import { ifnameProblem } from '../model/ifname.js';
import type { Shown, ShownBridge } from '../show/model.js';
import { fromShown, fromTopology, type HostNet } from './host-net.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const notShow = (file: string, why: string): XbError =>
  new XbError('usage', `${file} is not "xenbridge show --format json" output: ${why}`);

/** Only what compat reads is checked; show's other fields may come and go. */
const asShown = (data: Obj, file: string): Shown => {
  if (!Array.isArray(data.bridges)) throw notShow(file, '"bridges" is not a list');
  data.bridges.forEach((b: unknown, i) => {
    if (!isObj(b) || typeof b.name !== 'string' || (b.mode !== 'classic' && b.mode !== 'filtering') || typeof b.mtu !== 'number' || !Array.isArray(b.vlans)) {
      throw notShow(file, `bridges[${i}] needs name, mode (classic or filtering), mtu and vlans`);
    }
    const why = ifnameProblem(b.name);
    if (why) throw notShow(file, `bridges[${i}].name: ${why}`);
    if (!Number.isInteger(b.mtu) || (b.mtu as number) < 68 || (b.mtu as number) > 65535) throw notShow(file, `bridges[${i}].mtu: ${shownAny(b.mtu)} is not an MTU (68-65535)`);
    (b.vlans as unknown[]).forEach((v, k) => {
      const at = `bridges[${i}].vlans[${k}]`;
      // 0: a priority-tagging VLAN device (ip link add ... type vlan id 0) that show lists too.
      if (!isObj(v) || !Number.isInteger(v.id) || (v.id as number) < 0 || (v.id as number) > 4094) throw notShow(file, `${at} needs an id from 0 to 4094`);
      if (v.bridge !== undefined && v.bridge !== null) {
        const bad = typeof v.bridge === 'string' ? ifnameProblem(v.bridge) : 'should be an interface name';
        if (bad) throw notShow(file, `${at}.bridge: ${bad}`);
      }
    });
  });
  return { bridges: data.bridges as ShownBridge[], nics: Array.isArray(data.nics) ? data.nics : [] };
};

const parseAny = (text: string, file: string): unknown => {
  try {
    return parse(text);
  } catch (e) {
    throw new XbError('usage', `${file} is neither JSON nor YAML: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
};

export const hostOf = (file: string): string => basename(file, extname(file));

export const readHost = (file: string): HostNet => {
  const text = readSmallFile(file, { maxBytes: HOST_DUMP_MAX_BYTES, kind: 'usage', what: 'input' });
  let data = parseAny(text, file);
  if (isObj(data) && typeof data.stdout === 'string' && !('version' in data)) {
    if (typeof data.rc === 'number' && data.rc !== 0) throw new XbError('usage', `${file}: the command failed on that host (rc ${data.rc}): ${shownText(String(data.stderr ?? '').split('\n')[0] ?? '', 200)}`);
    data = parseAny(data.stdout, file);
  }
  if (isObj(data) && 'version' in data) return fromTopology(validate(parseSource(text, file)), hostOf(file), file);
  if (isObj(data) && Array.isArray(data.nics)) return fromShown(asShown(data, file), hostOf(file), file);
  throw new XbError('usage', `${file} is neither "xenbridge show --format json" output nor a topology file`, {
    detail: ['a topology file has "version: 1"; show output has "bridges" and "nics"'],
  });
};
