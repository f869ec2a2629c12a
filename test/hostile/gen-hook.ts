/**
 * Bad vif events, generated: the hook's arguments, its environment, and every xenstore key it
 * reads. Each says what must happen: exit 1 with hotplug-status=error when XENBUS_PATH names a
 * vif (so xl fails at once with our message), exit 1 without a write when it does not, or, for
 * offline, exit 0 with nothing but the guest's own device touched.
 */

export const BAD_IFNAMES = [
  'eth0', 'peth0', 'xenbr0', 'xenbr0-d0', 'xenbr1', 'int0', 'vif99.0', 'vif99.0-emu', 'if2', 'br%d', '%d', 'vif%d', 'x%s', '#br', 'br#x', '"q"', "'q'",
  'all', 'default', '.', '..', 'a/b', '../evil', 'a:b', 'a b', 'lo', 'a'.repeat(16), 'é', '\u0001x', '-x', 'a\\b', 'xenbr0v10', 'int0.10',
];

export type HookExpect = 'xenstore-error' | 'no-write' | 'offline-ok';

export interface HookCase {
  category: string;
  name: string;
  argv: string[];
  /** Environment on top of a valid one for vif<domid>.0 (undefined removes a variable). */
  env: Record<string, string | undefined>;
  /** xenstore keys under backend/vif/<domid>/0 (a bridge is always there unless overridden). */
  keys: Record<string, string>;
  expect: HookExpect;
}

const ON = ['online', 'type_if=vif'];

const BAD_BRIDGES = [
  'xenbr9', 'xenbr0.4095', 'xenbr0.0', 'xenbr0.150', 'xenbr0; reboot', '../xenbr0', 'eth0', 'xenbr0-d0', 'peth0', 'lo', '%d', '#x', '', ' ', 'xenbr0.10.20',
  'xenbr0:', 'xenbr0:abc', 'xenbr0.1e1', 'xenbr0.0x10', 'xenbr0.+10', 'a'.repeat(4096), 'xenbr0.99999999999999999999', 'é', 'xenbr0:10', 'int0', 'xenbr0 ', '$(reboot)',
];
const BAD_MTUS = ['1e3', '0x10', '-1', '67', '65536', 'abc', ' 1500', '+1500', '1500.0', '99999999999999999999', '1_500'];
/** Values no key may hold: with a newline (refused on both of xenstore's paths: over the socket and as xenstore-read escapes it), or far too long. */
const UNREADABLE = ['a\nb', '\n', 'x'.repeat(10_000)];

export const hookCases = (): HookCase[] => {
  const key = (category: string, keys: Record<string, string>, name = JSON.stringify(keys).slice(0, 80)): HookCase =>
    ({ category, name, argv: ON, env: {}, keys, expect: 'xenstore-error' });
  return [
    ...[[], ['online', ''], ['bogus', 'type_if=vif'], ['online', 'type_if=tap'], ['add', 'type_if=vif'], ['online', 'type_if=vif', 'x'], ['online', 'type_if=xx'],
      ['online', 'type_if=vif', '--debug'], ['offline', 'type_if=vif', ''], ['ONLINE', 'type_if=vif'], ['online', 'type_if=vif\n']]
      .map((argv): HookCase => ({ category: 'argv', name: JSON.stringify(argv), argv, env: {}, keys: {}, expect: 'xenstore-error' })),
    ...['', 'backend/vif/1', 'backend/vif/x/0', '../../../etc', 'backend/vif/1/0/../../2/0', 'backend/vif/999999/0', 'backend/vbd/1/0', '/backend/vif/1/0', 'backend/vif/1/0 ']
      .map((p): HookCase => ({ category: 'env', name: `XENBUS_PATH=${JSON.stringify(p)}`, argv: ON, env: { XENBUS_PATH: p }, keys: {}, expect: 'no-write' })),
    { category: 'env', name: 'no XENBUS_PATH', argv: ON, env: { XENBUS_PATH: undefined }, keys: {}, expect: 'no-write' },
    ...['', 'vif1.1', 'eth0', 'VIF', '../vif', 'vif01.0', 'if2', 'br%d', 'a'.repeat(300)]
      .map((v): HookCase => ({ category: 'env', name: `vif=${JSON.stringify(v)}`, argv: ON, env: { vif: v }, keys: {}, expect: 'xenstore-error' })),
    { category: 'env', name: 'no vif', argv: ON, env: { vif: undefined }, keys: {}, expect: 'xenstore-error' },
    { category: 'env', name: 'tap without INTERFACE', argv: ['add', 'type_if=tap'], env: {}, keys: {}, expect: 'xenstore-error' },
    { category: 'env', name: 'tap with INTERFACE=eth0', argv: ['add', 'type_if=tap'], env: { INTERFACE: 'eth0' }, keys: {}, expect: 'xenstore-error' },
    ...['../../x', 'a/b', '.', '..', '', 'xb-missing-ns-12', '%d', 'a b'].filter((n) => n !== '')
      .map((n): HookCase => ({ category: 'env', name: `XENBRIDGE_NETNS=${JSON.stringify(n)}`, argv: ON, env: { XENBRIDGE_NETNS: n }, keys: {}, expect: 'no-write' })),
    ...BAD_BRIDGES.map((b) => key('xenstore bridge', { bridge: b })),
    ...BAD_MTUS.map((m) => key('xenstore mtu', { mtu: m })),
    ...BAD_IFNAMES.map((v) => key('xenstore vifname', { vifname: v })),
    ...['bridge', 'mtu', 'vifname', 'mac', 'ip'].flatMap((k) => UNREADABLE.filter((v) => v.length < 100 || k === 'mtu' || k === 'vifname')
      .map((v) => key(`xenstore ${k}`, { [k]: v }, `${k}=${JSON.stringify(v).slice(0, 30)}`))),
    ...BAD_IFNAMES.map((v): HookCase => ({ category: 'offline vifname', name: `offline vifname=${JSON.stringify(v)}`, argv: ['offline', 'type_if=vif'], env: {}, keys: { vifname: v }, expect: 'offline-ok' })),
  ];
};
