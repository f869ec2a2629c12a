import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/validate.js';
import { errorMessage } from '../helpers/errors.js';
import { parseBridgeRequest } from '../../src/model/bridge-spec.js';
import { parseHotplug } from '../../src/xen/hotplug-env.js';
import { resolveTarget } from '../../src/plan/vif-target.js';

const env = { vif: 'vif3.1', XENBUS_PATH: 'backend/vif/3/1', XENBUS_TYPE: 'vif', XENBUS_BASE_PATH: 'backend', netdev: '', script: '/etc/xen/scripts/vif-xenbridge' };
const message = errorMessage;

describe('the hotplug contract: argv and env', () => {
  it('takes online/offline type_if=vif with the PV device from $vif', () => {
    expect(parseHotplug(['online', 'type_if=vif'], env)).toEqual({ action: 'online', typeIf: 'vif', dev: 'vif3.1', xenbusPath: 'backend/vif/3/1', domid: 3, devid: 1 });
    expect(parseHotplug(['offline', 'type_if=vif'], env).action).toBe('offline');
  });
  it('takes add/remove type_if=tap with the emulated NIC from $INTERFACE', () => {
    expect(parseHotplug(['add', 'type_if=tap'], { ...env, INTERFACE: 'vif3.1-emu' })).toMatchObject({ action: 'add', typeIf: 'tap', dev: 'vif3.1-emu' });
  });
  it.each([
    [[], {}, 'unknown command ""'],
    [['start'], env, 'unknown command "start"'],
    [['online', 'type_if=tap'], env, 'online goes with type_if=vif, not type_if=tap'],
    [['add', 'type_if=vif'], env, 'add goes with type_if=tap, not type_if=vif'],
    [['online', 'type_if=eth'], env, 'expected type_if=vif or type_if=tap, got "type_if=eth"'],
    [['online', 'type_if=vif', 'extra'], env, 'unexpected arguments: "extra"'],
    [['online', 'type_if=vif'], { ...env, XENBUS_PATH: '/local/domain/0/backend/vif/3/1' }, 'XENBUS_PATH must be backend/vif/<domid>/<devid>, got "/local/domain/0/backend/vif/3/1"'],
    [['online', 'type_if=vif'], { ...env, XENBUS_PATH: 'backend/vbd/3/1' }, 'XENBUS_PATH must be backend/vif/<domid>/<devid>, got "backend/vbd/3/1"'],
    [['online', 'type_if=vif'], { ...env, vif: 'vif3.2' }, 'vif must be vif3.1 for backend/vif/3/1, got "vif3.2"'],
    [['online', 'type_if=vif'], { ...env, vif: 'eth0; rm -rf /' }, 'vif must be vif3.1 for backend/vif/3/1, got "eth0; rm -rf /"'],
    [['add', 'type_if=tap'], { ...env, INTERFACE: 'tap3.1' }, 'INTERFACE must be vif3.1-emu for backend/vif/3/1, got "tap3.1"'],
  ] as [string[], Record<string, string>, string][])('%j %j is refused', (argv, e, msg) => {
    expect(message(() => parseHotplug(argv, e))).toBe(msg);
  });
});

describe('bridge syntax BR[.TAG][:T1[:T2…]] (as vif-openvswitch)', () => {
  it.each([
    ['xenbr0', { bridge: 'xenbr0', tag: undefined, trunks: [] }],
    ['xenbr0.10', { bridge: 'xenbr0', tag: 10, trunks: [] }],
    ['xenbr0:10:20', { bridge: 'xenbr0', tag: undefined, trunks: [10, 20] }],
    ['xenbr0.5:10:20', { bridge: 'xenbr0', tag: 5, trunks: [10, 20] }],
  ])('%s', (raw, want) => expect(parseBridgeRequest(raw)).toEqual(want));
  it.each([
    ['', 'bridge "" is not BR[.TAG][:T1[:T2...]]'],
    ['xenbr0.', 'bridge "xenbr0." is not BR[.TAG][:T1[:T2...]]'],
    ['xenbr0.10.20', 'bridge "xenbr0.10.20" is not BR[.TAG][:T1[:T2...]]'],
    ['xenbr0.0', 'bridge "xenbr0.0": tag 0 is not a VLAN ID (1-4094)'],
    ['xenbr0.4095', 'bridge "xenbr0.4095": tag 4095 is not a VLAN ID (1-4094)'],
    ['xenbr0:10:x', 'bridge "xenbr0:10:x": trunk VLAN "x" is not a VLAN ID (1-4094)'],
    ['xenbr0:', 'bridge "xenbr0:": trunk VLAN "" is not a VLAN ID (1-4094)'],
    ['xenbr0:10:10', 'bridge "xenbr0:10:10": a trunk VLAN is listed twice'],
    ['xenbr0.10:10', 'bridge "xenbr0.10:10": VLAN 10 is both native and tagged'],
    ['a-very-long-bridge-name', 'bridge "a-very-long-bridge-name": interface name "a-very-long-bridge-name" is longer than 15 bytes'],
    ['br 0', 'bridge "br 0": interface name "br 0" contains "/", ":" or whitespace'],
  ])('%j is refused', (raw, msg) => expect(message(() => parseBridgeRequest(raw))).toBe(msg));
});

describe('the allow-list', () => {
  const t = parseTopology(`version: 1
bridges:
  - name: xenbr0
    uplink: eth0
    vlans: [{id: 10}, {id: 20}]
    vif-vlans: [100-199]
  - name: xenbr1
    uplink: eth1
    mode: filtering
    vlans: [{id: 10}, {id: 20}]
    vif-vlans: [300]
`);
  const target = (raw: string) => resolveTarget(parseBridgeRequest(raw), t);
  it('classic: the trunk bridge, a declared VLAN\'s bridge, a vif-vlans VLAN on demand', () => {
    expect(target('xenbr0')).toMatchObject({ bridge: 'xenbr0', entries: [] });
    expect(target('xenbr0').onDemand).toBeUndefined();
    expect(target('xenbr0.10')).toMatchObject({ bridge: 'xenbr0v10' });
    expect(target('xenbr0.10').onDemand).toBeUndefined();
    expect(target('xenbr0v20')).toMatchObject({ bridge: 'xenbr0v20' });
    expect(target('xenbr0.150')).toMatchObject({ bridge: 'xenbr0v150', onDemand: { id: 150, device: 'eth0.150', bridge: 'xenbr0v150' } });
  });
  it('filtering: access, trunk, native+trunk and the bridge alone (the untagged native VLAN)', () => {
    expect(target('xenbr1.10')).toMatchObject({ bridge: 'xenbr1', keepNative: false, entries: [{ vid: 10, pvid: true, untagged: true }] });
    expect(target('xenbr1:10:20')).toMatchObject({ keepNative: false, entries: [{ vid: 10, pvid: false, untagged: false }, { vid: 20, pvid: false, untagged: false }] });
    expect(target('xenbr1.20:10:300')).toMatchObject({ keepNative: false, entries: [{ vid: 20, pvid: true, untagged: true }, { vid: 10 }, { vid: 300 }] });
    expect(target('xenbr1')).toMatchObject({ keepNative: true, entries: [], shape: { untagged: true, tagged: [] } });
  });
  it.each([
    ['xenbr9', 'bridge xenbr9 is not in the topology (bridges: xenbr0, xenbr1)'],
    ['xenbr0.30', 'VLAN 30 is not allowed on xenbr0'],
    ['xenbr0.200', 'VLAN 200 is not allowed on xenbr0'],
    ['xenbr1:10:30', 'VLAN 30 is not allowed on xenbr1'],
    ['xenbr0.10:20', 'bridge xenbr0: a native VLAN with tagged VLANs needs mode: filtering'],
    ['xenbr0.5:10', 'VLAN 5 is not allowed on xenbr0'],
  ])('%s is refused', (raw, msg) => expect(message(() => target(raw))).toBe(msg));
});
