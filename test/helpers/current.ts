/**
 * Loads a golden case's current.json (captured with test/helpers/capture-state.sh) as a HostState.
 * An optional "devices" map ({"eth0": {"driver": "e1000e", "pci": "0000:03:00.0"}}) stands in for
 * what sysfs would say about NICs that veth pairs cannot imitate; "dhcp" ({"dir", "running"}) is
 * what the run directory says of this scope's DHCP clients; "ipv6Conf" ({"default": {"acceptRa",
 * "autoconf", "forwarding"}, "eth0": ...}) what /proc/sys/net/ipv6/conf says.
 */
import { readFileSync } from 'node:fs';
import { parseBridgeVlans, parseLinks, parseRoutes } from '../../src/state/parse.js';
import { withDevices, type DeviceInfo } from '../../src/state/sysfs.js';
import type { HostState } from '../../src/state/types.js';

export const loadCurrent = (file: string): HostState => {
  const j = JSON.parse(readFileSync(file, 'utf8'));
  const devices: Record<string, DeviceInfo> = j.devices ?? {};
  return {
    kernel: j.kernel,
    links: withDevices(parseLinks(j.addr), (l) => devices[l.name] ?? {}),
    routes: [...parseRoutes(j.route4, 4), ...parseRoutes(j.route6, 6)],
    vlans: parseBridgeVlans(j.vlans),
    ...(j.dhcp ? { dhcp: j.dhcp } : {}),
    ...(j.ipv6Conf ? { ipv6Conf: j.ipv6Conf } : {}),
  };
};
