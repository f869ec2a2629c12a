/**
 * A NIC's driver and PCI address, which `ip` does not print, read from sysfs with node:fs.
 *
 * /sys/class/net lists the devices of the namespace that mounted sysfs, not of the namespace
 * `--netns` names, so a NIC is looked up by the bus and device `ip -d` reports (parentbus,
 * parentdev, kernel 5.15+): /sys/bus/<bus>/devices/<dev> is the same from every namespace. Only when
 * the kernel gives no parent and we read our own namespace does /sys/class/net/<name>/device serve.
 */
import { readlinkSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PCI_RE } from '../model/net.js';
import { isNicLike, type Link } from './types.js';

export interface DeviceInfo {
  driver?: string;
  pci?: string;
}

export type DeviceLookup = (l: Link) => DeviceInfo;

const tryRead = <T>(f: () => T): T | undefined => {
  try {
    return f();
  } catch {
    return undefined;
  }
};

/** The nearest PCI address on the device's path: a virtio NIC (virtio2) sits below its PCI function. */
export const pciOfPath = (devicePath: string): string | undefined =>
  devicePath.split('/').reverse().find((part) => PCI_RE.test(part));

export const sysfsLookup = (opts: { root?: string; netns?: string } = {}): DeviceLookup => (l) => {
  const root = opts.root ?? '/sys';
  const dir = l.parentbus && l.parentdev
    ? join(root, 'bus', l.parentbus, 'devices', l.parentdev)
    : opts.netns === undefined ? join(root, 'class', 'net', l.name, 'device') : undefined;
  if (dir === undefined) return {};
  const real = tryRead(() => realpathSync(dir));
  if (real === undefined) return {};
  const driverLink = tryRead(() => readlinkSync(join(dir, 'driver')));
  return { driver: driverLink === undefined ? undefined : basename(driverLink), pci: pciOfPath(real) };
};

/** NIC-like links with their driver and PCI address filled in; a PCI parent counts even if sysfs is unreadable. */
export const withDevices = (links: Link[], lookup: DeviceLookup): Link[] =>
  links.map((l) => {
    if (!isNicLike(l)) return l;
    const found = lookup(l);
    const pci = found.pci ?? (l.parentbus === 'pci' ? l.parentdev : undefined);
    const driver = found.driver;
    return pci === undefined && driver === undefined ? l : { ...l, ...(pci === undefined ? {} : { pci }), ...(driver === undefined ? {} : { driver }) };
  });
