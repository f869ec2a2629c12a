/**
 * The lab's built-in example: an upstream switch port trunking untagged + VLANs 10 and 20, a dom0
 * whose NIC is the other end, and three guests attached the way xl attaches them.
 */
import type { BridgeMode } from '../model/topology.js';

export interface LabGuest {
  /** Xen's name for the backend device. */
  vif: string;
  /** What the guest's xl config would say: vif = ['bridge=…']. */
  bridge: string;
  role: string;
  /** Guest-side interfaces: [device, VLAN (undefined = untagged eth0), address]. */
  ifaces: { vlan?: number; address: string }[];
}

export interface LabCheck {
  name: string;
  from: 'dom0' | string;
  to: string;
}

export const labTopology = (mode: BridgeMode): string => `# xenbridge lab: dom0's NIC eth0 is cabled to a switch port that carries
# untagged 192.0.2.0/24 and tagged VLANs 10 (10.10.0.0/24) and 20 (10.20.0.0/24).
version: 1
bridges:
  - name: xenbr0
    uplink: eth0
    mode: ${mode}
    mtu: 1500
    vlans:
      - id: 10
        addresses: [10.10.0.2/24]
        probe: 10.10.0.1
      - id: 20
        probe: 10.20.0.1
`;

/** The switch answers on every network; these are its addresses. */
export const SWITCH = { untagged: '192.0.2.1/24', vlans: { 10: '10.10.0.1/24', 20: '10.20.0.1/24' } as Record<number, string> };
export const DOM0_NIC = { address: '192.0.2.10/24', gateway: '192.0.2.1' };

/** A guest's MAC, as xl would write it to xenstore `mac` (vifD.N -> 00:16:3e:00:DD:NN). */
export const labGuestMac = (vif: string): string => {
  const [d = 0, n = 0] = vif.replace(/^vif/, '').split('.').map(Number);
  return `00:16:3e:00:${d.toString(16).padStart(2, '0')}:${n.toString(16).padStart(2, '0')}`;
};

export const LAB_GUESTS: LabGuest[] = [
  { vif: 'vif1.0', bridge: 'xenbr0.10', role: 'access port on VLAN 10', ifaces: [{ address: '10.10.0.11/24' }] },
  { vif: 'vif2.0', bridge: 'xenbr0:10:20', role: 'trunk: the guest tags VLANs 10 and 20 itself', ifaces: [{ vlan: 20, address: '10.20.0.12/24' }, { vlan: 10, address: '10.10.0.12/24' }] },
  { vif: 'vif3.0', bridge: 'xenbr0', role: 'untagged', ifaces: [{ address: '192.0.2.13/24' }] },
];

export const LAB_CHECKS: LabCheck[] = [
  { name: 'dom0 -> switch, untagged', from: 'dom0', to: '192.0.2.1' },
  { name: 'dom0 -> switch, VLAN 10', from: 'dom0', to: '10.10.0.1' },
  { name: 'access guest (VLAN 10) -> switch', from: 'vif1.0', to: '10.10.0.1' },
  { name: 'trunk guest, VLAN 10 -> switch', from: 'vif2.0', to: '10.10.0.1' },
  { name: 'trunk guest, VLAN 20 -> switch', from: 'vif2.0', to: '10.20.0.1' },
  { name: 'untagged guest -> switch', from: 'vif3.0', to: '192.0.2.1' },
  { name: 'access guest -> trunk guest, VLAN 10', from: 'vif1.0', to: '10.10.0.12' },
];
