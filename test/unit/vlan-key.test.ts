import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/validate.js';
import { errorMessage } from '../helpers/errors.js';
import { parseBridgeRequest } from '../../src/model/bridge-spec.js';
import { resolveTarget } from '../../src/plan/vif-target.js';
import { combineVlanKey, parseVlanKey } from '../../src/model/vlan-key.js';

const message = errorMessage;

describe("xl's vlan= key (xl-network-configuration(5))", () => {
  it.each([
    // The manual's own examples.
    ['10', { pvid: 10, tagged: [], untagged: [] }],
    ['10p/20', { pvid: 10, tagged: [20], untagged: [] }],
    // "count additional entries" (the manual's example also lists 150: see src/xen/vlan-key.ts).
    ['10p/100+10x4', { pvid: 10, tagged: [100, 110, 120, 130, 140], untagged: [] }],
    // Each term form of the manual's definition.
    ['10p', { pvid: 10, tagged: [], untagged: [] }],
    ['20/10p', { pvid: 10, tagged: [20], untagged: [] }],
    ['10p/100-103', { pvid: 10, tagged: [100, 101, 102, 103], untagged: [] }],
    ['10p/100-100', { pvid: 10, tagged: [100], untagged: [] }],
    ['10p/20u', { pvid: 10, tagged: [], untagged: [20] }],
    ['10p/20-21u/30', { pvid: 10, tagged: [30], untagged: [20, 21] }],
    ['10p/100+1x2u', { pvid: 10, tagged: [], untagged: [100, 101, 102] }],
    ['10p/100+5x0', { pvid: 10, tagged: [100], untagged: [] }],
    ['1p/4094', { pvid: 1, tagged: [4094], untagged: [] }],
    ['4094p/4000+10x9', { pvid: 4094, tagged: [4000, 4010, 4020, 4030, 4040, 4050, 4060, 4070, 4080, 4090], untagged: [] }],
  ])('%s', (raw, want) => expect(parseVlanKey(raw)).toEqual(want));

  it.each([
    ['', 'vlan "": term "" is empty'],
    ['10p/', 'vlan "10p/": term "" is empty'],
    ['10p//20', 'vlan "10p//20": term "" is empty'],
    ['0', 'vlan "0": term "0" is not N, Np, Nu, A-B[u] or N+OxC[u] with VLAN IDs 1-4094'],
    ['4095', 'vlan "4095": term "4095" names VLAN 4095, outside 1-4094'],
    ['10p/4095', 'vlan "10p/4095": term "4095" names VLAN 4095, outside 1-4094'],
    ['010', 'vlan "010": term "010" is not N, Np, Nu, A-B[u] or N+OxC[u] with VLAN IDs 1-4094'],
    ['10x', 'vlan "10x": term "10x" is not N, Np, Nu, A-B[u] or N+OxC[u] with VLAN IDs 1-4094'],
    ['10pu', 'vlan "10pu": term "10pu" is not N, Np, Nu, A-B[u] or N+OxC[u] with VLAN IDs 1-4094'],
    ['10p/20 ', 'vlan "10p/20 ": term "20 " is not N, Np, Nu, A-B[u] or N+OxC[u] with VLAN IDs 1-4094'],
    ['10p/30-20', 'vlan "10p/30-20": term "30-20" is a range whose start 30 is above its end 20'],
    ['10p/20-30p', 'vlan "10p/20-30p": term "20-30p" marks a range as the PVID (p goes with a single VLAN ID)'],
    ['10p/100+10x4p', 'vlan "10p/100+10x4p": term "100+10x4p" marks a range as the PVID (p goes with a single VLAN ID)'],
    ['10p/4000+100x1', 'vlan "10p/4000+100x1": term "4000+100x1" names VLAN 4100, outside 1-4094'],
    ['10p/100+0x2', 'vlan "10p/100+0x2": term "100+0x2" is not N, Np, Nu, A-B[u] or N+OxC[u] with VLAN IDs 1-4094'],
    ['10p/10', 'vlan "10p/10": term "10" names VLAN 10 again (already in "10p")'],
    ['10p/5-15', 'vlan "10p/5-15": term "5-15" names VLAN 10 again (already in "10p")'],
    ['10p/20p', 'vlan "10p/20p": more than one PVID (10, 20); mark exactly one VLAN with p'],
    ['10/20', 'vlan "10/20": no PVID; mark exactly one VLAN with p (e.g. 10p/20)'],
    ['10u', 'vlan "10u": no PVID; mark exactly one VLAN with p (e.g. 10p/20)'],
    ['100-110', 'vlan "100-110": no PVID; mark exactly one VLAN with p (e.g. 10p/20)'],
    ['10;reboot', 'vlan "10;reboot": term "10;reboot" is not N, Np, Nu, A-B[u] or N+OxC[u] with VLAN IDs 1-4094'],
  ])('%j is refused: %s', (raw, msg) => expect(message(() => parseVlanKey(raw))).toBe(msg));
});

const topo = (mode: string, extra = ''): ReturnType<typeof parseTopology> =>
  parseTopology(`version: 1\nbridges:\n  - name: xenbr0\n    mode: ${mode}\n    vlans: [{id: 10}, {id: 20}]\n    vif-vlans: [100-199]\n${extra}`, 't.yaml');

describe('bridge= and vlan= together, and what the port then carries', () => {
  const target = (mode: string, bridge: string, vlan?: string, extra = '') => resolveTarget(combineVlanKey(parseBridgeRequest(bridge), vlan), topo(mode, extra));
  it('vlan= alone gives the VLANs; equal VLANs in both are fine', () => {
    expect(target('filtering', 'xenbr0', '10p/20')).toMatchObject({ bridge: 'xenbr0', shape: { untagged: true, tagged: [{ start: 20, end: 20 }] } });
    expect(target('filtering', 'xenbr0.10:20', '10p/20').entries).toEqual([{ vid: 10, pvid: true, untagged: true }, { vid: 20, pvid: false, untagged: false }]);
    expect(target('classic', 'xenbr0', '10')).toMatchObject({ bridge: 'xenbr0v10', shape: { untagged: true, tagged: [] } });
    expect(target('classic', 'xenbr0v10', '10')).toMatchObject({ bridge: 'xenbr0v10' });
  });
  it('classic mode: bridge=xenbr0 is untagged only, trunk lists are tagged only; the old meaning needs insecure-vif-all-tags', () => {
    expect(target('classic', 'xenbr0')).toMatchObject({ bridge: 'xenbr0', shape: { untagged: true, tagged: [] } });
    expect(target('classic', 'xenbr0:10:150')).toMatchObject({ bridge: 'xenbr0', shape: { untagged: false, tagged: [{ start: 10, end: 10 }, { start: 150, end: 150 }] } });
    expect(target('classic', 'xenbr0', undefined, '    insecure-vif-all-tags: true\n').shape).toBeUndefined();
  });
  it('filtering mode: bridge=xenbr0 is the untagged native VLAN only unless insecure-vif-all-tags', () => {
    expect(target('filtering', 'xenbr0')).toMatchObject({ entries: [], keepNative: true, shape: { untagged: true, tagged: [] } });
    expect(target('filtering', 'xenbr0', undefined, '    insecure-vif-all-tags: true\n').entries).toHaveLength(3);
  });
  it.each([
    ['filtering', 'xenbr0.10', '10p/20', 'vlan "10p/20" and bridge "xenbr0.10" disagree (the bridge string asks for native 10); give the VLANs in one of them'],
    ['filtering', 'xenbr0:20', '10', 'vlan "10" and bridge "xenbr0:20" disagree (the bridge string asks for no native VLAN, tagged 20); give the VLANs in one of them'],
    ['filtering', 'xenbr0', '10p/300', 'VLAN 300 is not allowed on xenbr0'],
    ['filtering', 'xenbr0', '10p/30u', 'VLAN 30 is not allowed on xenbr0'],
    ['filtering', 'xenbr0', '10p/100+50x2', 'VLAN 200 is not allowed on xenbr0'],
    ['classic', 'xenbr0', '10p/20', 'bridge xenbr0: a native VLAN with tagged VLANs needs mode: filtering'],
    ['classic', 'xenbr0', '10p/20u', 'bridge xenbr0: further untagged VLANs need mode: filtering'],
    ['classic', 'xenbr0v10', '20', "bridge xenbr0v10 is VLAN 10's bridge and carries only VLAN 10 untagged; ask for other VLANs on xenbr0"],
    ['classic', 'xenbr0', '10p/bad', 'vlan "10p/bad": term "bad" is not N, Np, Nu, A-B[u] or N+OxC[u] with VLAN IDs 1-4094'],
  ])('%s bridge=%s vlan=%s is refused', (mode, bridge, vlan, msg) => expect(message(() => target(mode, bridge, vlan))).toBe(msg));
});
