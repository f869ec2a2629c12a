/**
 * Bad topology files, generated: a wrong value at every key of a valid file (names, numbers,
 * booleans, MACs, addresses, structure), YAML features a topology has no use for, sizes and bytes.
 * Each input says the line the problem must be reported at, when there is one.
 */
import { stringify } from 'yaml';

export interface FileCase {
  category: string;
  name: string;
  text: string | Buffer;
  /** 1-based line a problem must be reported at; undefined when any located problem will do. */
  line?: number;
}

type Path = (string | number)[];

/** Valid: every key the format knows, so every key can be spoiled. */
export const BASE = {
  version: 1,
  bridges: [{
    name: 'xenbr0', uplink: 'eth0', 'uplink-port': 'peth0', mode: 'classic', mtu: 1500, stp: true, 'forward-delay': 4, mac: '02:00:00:00:00:01',
    dom0: { ifname: 'eth0', peer: 'xenbr0-d0', addresses: ['192.0.2.10/24'], gateway: '192.0.2.1' },
    vlans: [{ id: 10, bridge: 'xenbr0v10', device: 'eth0.10', mtu: 1500, addresses: ['198.51.100.1/24'], probe: '198.51.100.2' }],
    'vif-vlans': ['100-199'],
  }],
  names: [{ name: 'eth0', match: { mac: '52:54:00:00:00:01' } }],
};

const MARK = 'XBHOSTILEMARK';
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** BASE with the value at path written as the raw YAML text given (a flow value on one line). */
export const spoil = (path: Path, raw: string, base: object = BASE): { text: string; line: number } => {
  const doc = clone(base) as Record<string | number, unknown>;
  let node = doc;
  for (const seg of path.slice(0, -1)) node = node[seg] as Record<string | number, unknown>;
  node[path[path.length - 1] as string | number] = MARK;
  const text = stringify(doc, { lineWidth: 0 });
  const line = text.slice(0, text.indexOf(MARK)).split('\n').length;
  return { text: text.replace(MARK, raw), line };
};

const q = (s: string): string => JSON.stringify(s);

export const BAD_NAMES = [
  '""', q('a'.repeat(16)), q('ä'.repeat(8)), q('br%d'), q('%d'), q('x%s'), q('#br'), q('br#x'), q('"q"'), q("'q'"), q('all'), q('default'),
  q('.'), q('..'), q('a/b'), q('a:b'), q('a b'), q('a\tb'), q('é'), q('\u0001x'), q('if2'), q('-x'), q('a\\b'), q('vif1.0'), q('vif1.0-emu'),
  '[]', '{}', 'true', '[a, b]',
];
const BAD_INTS = ['1e3', '0x10', '0o12', '10.0', '+10', '-1', '99999999', 'ten', 'true', '[]', '{}', '1_000', '"10"', '.inf', '.nan', '1.5'];
const BAD_BOOLS = ['1', 'yes', '"true"', 'on', '[]', '{}', 'True1'];
const BAD_MACS = [q('01:00:5e:00:00:01'), q('00:00:00:00:00:00'), q('ff:ff:ff:ff:ff:ff'), q('03:00:00:00:00:01'), q('zz:zz:zz:zz:zz:zz'), q('02:00:00:00:00'), q('02-00-00-00-00-01'), '12', '[]'];
const BAD_ADDRS = [q('0.0.0.0/0'), q('0.0.0.0/24'), q('::/64'), q('ff02::1/64'), q('127.0.0.2/8'), q('224.0.0.1/24'), q('255.255.255.255/32'), q('::1/128'),
  q('192.0.2.1'), q('192.0.2.1/33'), q('2001:db8::1/129'), q('x/24'), q('192.0.2.1/24 '), q('192.0.2.1/0'), '5', '[]', '{}'];
const BAD_GATEWAYS = [q('x'), '5', q('203.0.113.1'), q('2001:db8::1'), '[]', q('192.0.2.1/24')];
const BAD_VIDRANGES = ['0', '4095', q('200-100'), '1e2', '0x10', q('a-b'), '[]', q('1-5000'), '-5', '10.0', '{}'];

const at = (category: string, path: Path, values: string[], base?: object): FileCase[] =>
  values.map((raw) => ({ category, name: `${path.join('.')} = ${raw}`, ...spoil(path, raw, base) }));

const B: Path = ['bridges', 0];
const V: Path = [...B, 'vlans', 0];

const keyCases = (): FileCase[] => [
  ...[[...B, 'name'], [...B, 'uplink'], [...B, 'uplink-port'], [...B, 'dom0', 'ifname'], [...B, 'dom0', 'peer'], [...V, 'bridge'], [...V, 'device'], ['names', 0, 'name']]
    .flatMap((p) => at('names', p, BAD_NAMES)),
  ...at('numbers', [...B, 'mtu'], [...BAD_INTS, '0', '67', '65536']),
  ...at('numbers', [...B, 'forward-delay'], [...BAD_INTS, '31', '1']),
  ...at('numbers', [...V, 'id'], [...BAD_INTS, '0', '4095']),
  ...at('numbers', [...V, 'mtu'], [...BAD_INTS, '0', '1501']),
  ...at('numbers', ['version'], ['2', '"1"', '1.0', 'x', '[]', '0x1', '+1']),
  ...at('numbers', [...B, 'vif-vlans', 0], BAD_VIDRANGES),
  ...at('types', [...B, 'stp'], BAD_BOOLS),
  ...at('types', [...B, 'mac'], BAD_MACS),
  ...at('types', [...B, 'mode'], [q('trunk'), '5', '[]', q('Classic')]),
  ...at('types', [...B, 'dom0', 'addresses', 0], BAD_ADDRS),
  ...at('types', [...V, 'addresses', 0], BAD_ADDRS),
  ...at('types', [...B, 'dom0', 'gateway'], BAD_GATEWAYS),
  ...at('types', [...V, 'probe'], [q('x'), '5', '[]', q('198.51.100.2/24')]),
  ...at('types', ['names', 0, 'match', 'mac'], [q('zz'), '5', '[]']),
  ...at('types', ['names', 0, 'match'], [q('x'), '[]', '{}', '{mac: "52:54:00:00:00:01", pci: "0000:03:00.0"}', '{pci: "3:0.0"}', '{index: 1}']),
  ...at('structure', ['bridges'], ['{}', 'x', '5', '[x]', '[[]]']),
  ...at('structure', B, ['x', '[]', '5']),
  ...at('structure', [...B, 'dom0'], ['x', '[]', '5']),
  ...at('structure', [...B, 'vlans'], ['x', '{}', '[x]', '[5]']),
  ...at('structure', [...B, 'dom0', 'addresses'], ['x', '{}']),
  ...at('types', [...B, 'dom0', 'addresses'], ['[dhcp, 192.0.2.10/24]', '[dhcp, dhcp]', 'DHCP', '[dhcpv6]', 'dhcp4', '[slaac, slaac]', '[dhcp6, slaac, dhcp6]', 'SLAAC', '[ra]', '"dhcp6 slaac"', '[autoconf]']),
  ...at('types', [...V, 'addresses'], ['dhcp', '[dhcp]', 'slaac', '[dhcp6]', '[slaac, 198.51.100.1/24]']),
  ...at('structure', ['names'], ['x', '{}', '[x]']),
  ...[[], B, [...B, 'dom0'], V, ['names', 0], ['names', 0, 'match']].map((p): FileCase => {
    const { text, line } = spoil([...p, 'frobnicate'], '1');
    return { category: 'structure', name: `unknown key under ${p.join('.') || 'top'}`, text, line };
  }),
  { category: 'numbers', name: 'IPv6 on an MTU below 1280', ...spoil([...B, 'dom0', 'addresses'], '["2001:db8::10/64"]', { ...clone(BASE), bridges: [{ ...clone(BASE.bridges[0]), mtu: 1200, vlans: [] }] }) },
];

/** Valid: dom0 on every kind of network-given address (IPv4 DHCP, SLAAC, DHCPv6) beside a static IPv6 one. */
export const V6_BASE = {
  version: 1,
  bridges: [{ name: 'xenbr0', uplink: 'eth0', mtu: 1500, dom0: { addresses: ['dhcp', 'slaac', 'dhcp6', '2001:db8::10/64'] } }],
};

/** Routers' advertisements give the IPv6 default route and need IPv6's minimum MTU. */
const v6Cases = (): FileCase[] => [
  ...at('conflicts', [...B, 'dom0', 'gateway'], [q('2001:db8::1'), q('fe80::1')], V6_BASE),
  ...at('numbers', [...B, 'dom0', 'addresses'], ['slaac', '[dhcp6]', '[dhcp, slaac]'], { ...clone(V6_BASE), bridges: [{ ...clone(V6_BASE.bridges[0]), mtu: 1279 }] }),
  ...at('types', [...B, 'dom0', 'addresses', 3], [q('slaac6'), q('dhcpv6'), q('Slaac'), q('dhcp'), q('dhcp6'), '6', '[]', '{}'], V6_BASE),
];

/** Valid: a bond with every key, under a second bridge beside a NIC's. */
export const BOND_BASE = {
  version: 1,
  bonds: [{ name: 'bond0', mode: '802.3ad', members: ['eth1', 'eth2'], miimon: 100, 'lacp-rate': 'fast', 'xmit-hash-policy': 'layer3+4' }],
  bridges: [{ name: 'xenbr0', uplink: 'eth0' }, { name: 'xenbr1', uplink: 'bond0' }],
};
const BD: Path = ['bonds', 0];
const BD_MODE = (mode: string): Record<string, unknown> => ({ ...clone(BOND_BASE.bonds[0]), mode });

const bondCases = (): FileCase[] => [
  ...at('names', [...BD, 'name'], BAD_NAMES, BOND_BASE),
  ...at('names', [...BD, 'members', 1], BAD_NAMES, BOND_BASE),
  ...at('numbers', [...BD, 'miimon'], [...BAD_INTS, '0', '60001'], BOND_BASE),
  ...at('types', [...BD, 'mode'], [q('lacp'), q('802.3AD'), q('LACP'), '4', q(''), '[]', '{}'], BOND_BASE),
  ...at('types', [...BD, 'lacp-rate'], [q('quick'), '1', 'true', '[]'], BOND_BASE),
  ...at('types', [...BD, 'xmit-hash-policy'], [q('layer4'), q('layer3+4 '), '3', '[]'], BOND_BASE),
  ...at('structure', ['bonds'], ['x', '{}', '[x]', '[[]]', '[5]'], BOND_BASE),
  ...at('structure', [...BD, 'members'], ['x', '{}', '[]', '5'], BOND_BASE),
  // A member that is already something else: the other member, the bond, a bridge, a bridge port, dom0's ends, a VLAN device.
  ...at('conflicts', [...BD, 'members', 1], [q('eth1'), q('bond0'), q('xenbr0'), q('xenbr1'), q('eth0'), q('xenbr1-d0'), q('eth1.10')], BOND_BASE),
  ...at('conflicts', [...BD, 'name'], [q('bond0.5'), q('bond1')], BOND_BASE),
  ...[
    ['lacp-rate without 802.3ad', { ...BD_MODE('active-backup') }],
    ['xmit-hash-policy in active-backup', { ...BD_MODE('active-backup'), 'lacp-rate': undefined }],
    ['a bond without members key', { ...clone(BOND_BASE.bonds[0]), members: undefined }],
    ['a bond without mode', { ...clone(BOND_BASE.bonds[0]), mode: undefined }],
  ].map(([name, bond]): FileCase => ({ category: 'conflicts', name: name as string, text: stringify({ ...clone(BOND_BASE), bonds: [bond] }) })),
  { category: 'conflicts', name: 'a member of two bonds', text: stringify({ ...clone(BOND_BASE), bonds: [clone(BOND_BASE.bonds[0]), { name: 'bond1', mode: 'active-backup', members: ['eth2'] }], bridges: [...clone(BOND_BASE.bridges), { name: 'xenbr2', uplink: 'bond1' }] }) },
  ...[[...BD, 'frobnicate']].map((p): FileCase => ({ category: 'structure', name: 'unknown key under a bond', ...spoil(p, '1', BOND_BASE) })),
];

const aliasBomb = (levels: number, width: number): string => {
  let s = 'version: 1\nx0: &a0 [x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i <= levels; i++) s += `x${i}: &a${i} [${Array.from({ length: width }, () => `*a${i - 1}`).join(', ')}]\n`;
  return s;
};

const yamlCases = (): FileCase[] => {
  const ok = stringify(BASE);
  const c = (name: string, text: string, line?: number): FileCase => ({ category: 'yaml', name, text, line });
  return [
    c('alias bomb 9x9', aliasBomb(9, 9)),
    c('alias bomb 5x9', aliasBomb(5, 9)),
    c('alias bomb 3x30', aliasBomb(3, 30)),
    c('alias to no anchor', 'version: 1\nbridges:\n  - name: *nope\n', 3),
    c('alias before its anchor', 'version: 1\nbridges:\n  - name: *n\n  - name: &n xenbr1\n', 3),
    c('65 aliases', `version: 1\na: &a x\nb: [${Array.from({ length: 65 }, () => '*a').join(', ')}]\n`, 3),
    c('aliased bridge used twice', 'version: 1\nbridges:\n  - &b {name: xenbr0}\n  - *b\n'),
    c('merge key', 'version: 1\nbase: &b {mtu: 1500}\nbridges:\n  - <<: *b\n    name: xenbr0\n'),
    c('binary tag', 'version: 1\nbridges:\n  - name: !!binary aGVsbG8=\n', 3),
    c('unknown tag', 'version: 1\nbridges:\n  - name: !foo xenbr0\n', 3),
    c('set tag', 'version: 1\nbridges: !!set {a, b}\n', 2),
    c('js function tag', 'version: 1\nbridges: !!js/function "function(){}"\n', 2),
    c('two documents', `${ok}---\n${ok}`),
    c('duplicate key', 'version: 1\nversion: 1\n', 2),
    c('tab indentation', 'version: 1\nbridges:\n\t- name: xenbr0\n', 3),
    c('unterminated quote', 'version: 1\nbridges:\n  - name: "xenbr0\n'),
    c('unclosed flow', 'version: 1\nbridges: [\n'),
    c('deep nesting', `version: 1\nbridges: ${'['.repeat(3000)}${']'.repeat(3000)}\n`),
    c('deep mappings', `version: 1\nbridges: ${'{a: '.repeat(1500)}1${'}'.repeat(1500)}\n`),
    c('empty file', ''),
    c('only a comment', '# nothing\n'),
    c('null document', '~\n'),
    c('a list at the top', '- version: 1\n'),
    c('a scalar at the top', 'version\n'),
    c('YAML 1.1 directive', '%YAML 1.1\n---\nversion: 1\nbridges: [{name: xenbr0, mtu: 0x5dc}]\n', 4),
    c('complex key', 'version: 1\n? [a, b]\n: 1\n', 2),
    c('a mapping as key', 'version: 1\nbridges:\n  - {name: xenbr0, ? {mtu: 1}: 1}\n', 3),
    c('anchor on a key and alias as key', 'version: 1\n&k bridges: []\n*k : x\n'),
  ];
};

const sizeCases = (): FileCase[] => [
  { category: 'sizes', name: '300 KiB of comments', text: `version: 1\n${'# padding padding padding padding\n'.repeat(9000)}` },
  { category: 'sizes', name: '300 KiB line', text: `version: 1\nbridges: [{name: xenbr0, x: ${'a'.repeat(300_000)}}]\n` },
  { category: 'sizes', name: 'a 200 KiB name', text: `version: 1\nbridges: [{name: ${'a'.repeat(200_000)}}]\n`, line: 2 },
  { category: 'sizes', name: 'non-UTF-8 bytes', text: Buffer.concat([Buffer.from('version: 1\nbridges: [{name: xenbr'), Buffer.from([0xff, 0xfe]), Buffer.from('}]\n')]) },
  { category: 'sizes', name: 'a NUL byte', text: Buffer.from('version: 1\nbridges: [{name: xen\0br0}]\n') },
  { category: 'sizes', name: 'UTF-16 file', text: Buffer.from('\ufeffversion: 1\n', 'utf16le') },
  { category: 'sizes', name: '2000 bridges with clashing names', text: `version: 1\nbridges:\n${'  - name: xenbr0\n'.repeat(2000)}` },
];

export const fileCases = (): FileCase[] => [...keyCases(), ...bondCases(), ...v6Cases(), ...yamlCases(), ...sizeCases()];
