/** raw YAML -> Topology. Collects every problem, then throws one config error listing them all. */
import { shown, shownAny, XbError } from '../errors.js';
import { MAC_RE, normalizeMac, PCI_RE } from '../model/net.js';
import type { BondSpec } from '../model/bond.js';
import type { BridgeSpec, NameRule, Topology } from '../model/topology.js';
import { Checker, isObj, pathText } from './checker.js';
import { crossCheck } from './cross-check.js';
import { loadSource, parseSource, type Path, type Source } from './load.js';
import { readBond } from './validate-bond.js';
import { readBridge } from './validate-bridge.js';

const TOP_KEYS = ['version', 'bridges', 'bonds', 'names'] as const;
const NAME_KEYS = ['name', 'match'] as const;
const MATCH_KEYS = ['mac', 'pci', 'driver', 'index', 'ifname'] as const;

const readName = (c: Checker, raw: unknown, path: Path): NameRule | undefined => {
  const o = c.mapping(raw, path, NAME_KEYS);
  if (!o) return undefined;
  const name = c.ifname(o, 'name', path, true);
  const mPath = [...path, 'match'];
  const m = o.match === undefined ? (c.fail(path, `${pathText(path)} needs "match"`), undefined) : c.mapping(o.match, mPath, MATCH_KEYS);
  if (!name || !m) return undefined;
  const given = (['mac', 'pci', 'driver', 'ifname'] as const).filter((k) => m[k] !== undefined);
  if (given.length !== 1) {
    c.fail(mPath, `${pathText(mPath)} needs exactly one of mac, pci, driver (+ index), ifname; got ${given.length === 0 ? 'none' : given.join(', ')}`);
    return undefined;
  }
  const where = c.where(path);
  const mac = c.str(m, 'mac', mPath);
  if (mac !== undefined) {
    if (!MAC_RE.test(mac.toLowerCase())) c.fail([...mPath, 'mac'], `${pathText(mPath)}.mac: ${shown(mac)} is not a MAC address`);
    return { name, match: { by: 'mac', mac: normalizeMac(mac) }, where };
  }
  const pci = c.str(m, 'pci', mPath);
  if (pci !== undefined) {
    if (!PCI_RE.test(pci.toLowerCase())) c.fail([...mPath, 'pci'], `${pathText(mPath)}.pci: ${shown(pci)} is not a PCI address like 0000:03:00.0`);
    return { name, match: { by: 'pci', pci: pci.toLowerCase() }, where };
  }
  const driver = c.str(m, 'driver', mPath);
  // A kernel module's name; it goes into udev's DRIVERS=="…" and systemd's Driver=, where * ? [ ] are patterns.
  if (driver !== undefined && !/^[A-Za-z0-9_-]{1,56}$/.test(driver)) c.fail([...mPath, 'driver'], `${pathText(mPath)}.driver: ${shown(driver)} is not a driver name (letters, digits, _ and -, as in ixgbe or virtio_net)`);
  if (driver !== undefined) return { name, match: { by: 'driver', driver, index: c.int(m, 'index', mPath, 0, 255, 'index') ?? 0 }, where };
  if (m.index !== undefined) c.fail([...mPath, 'index'], `${pathText(mPath)}.index goes with driver`, true);
  const ifname = c.ifname(m, 'ifname', mPath, true);
  return ifname ? { name, match: { by: 'ifname', ifname }, where } : undefined;
};

export const validate = (src: Source): Topology => {
  const c = new Checker(src);
  const top = c.mapping(src.data ?? {}, [], TOP_KEYS) ?? {};
  if (top.version === undefined) c.fail([], 'the file needs "version: 1"');
  else if (top.version !== 1) c.fail(['version'], `version must be 1, got ${shownAny(top.version)}`);
  else c.decimal(['version'], 'version');
  const bridges: BridgeSpec[] = c.list(top, 'bridges', []).flatMap((b, i) => readBridge(c, b, ['bridges', i]) ?? []);
  const bonds: BondSpec[] = c.list(top, 'bonds', []).flatMap((b, i) => readBond(c, b, ['bonds', i]) ?? []);
  const names: NameRule[] = c.list(top, 'names', []).flatMap((n, i) => readName(c, n, ['names', i]) ?? []);
  if (c.problems.length === 0) crossCheck(c, bridges, bonds, names, isObj(top) ? top : {});
  if (c.problems.length > 0) {
    const n = c.problems.length;
    throw new XbError('config', `${src.file}: ${n} problem${n === 1 ? '' : 's'}; nothing was changed`, { problems: c.problems });
  }
  return { version: 1, source: src.file, bridges, bonds, names };
};

export const loadTopology = (file: string): Topology => validate(loadSource(file));
export const parseTopology = (text: string, file = '<inline>'): Topology => validate(parseSource(text, file));
