/**
 * `names:` rules as boot-time naming: systemd .link files (udevd's net_setup_link, first match in
 * lexical order wins, so 10- comes before the distribution's 99-default.link) or one udev rules file
 * (70-, before 80-net-setup-link.rules, whose NAME only applies when none is set yet).
 */
import { XbError } from '../errors.js';
import type { NameRule } from '../model/topology.js';
import type { Link } from '../state/types.js';
import { matchText } from './match.js';

export type Backend = 'systemd' | 'udev';
export const BACKENDS: readonly Backend[] = ['systemd', 'udev'];

export const LINK_DIR = '/etc/systemd/network';
export const LINK_PREFIX = '10-xenbridge-';
export const UDEV_FILE = '/etc/udev/rules.d/70-xenbridge-names.rules';

export interface PersistFile {
  /** Absolute path on the target system (under --root when writing). */
  path: string;
  text: string;
}

/** What identifies the NIC at boot, before anything renamed it. */
type BootKey = { by: 'mac'; mac: string } | { by: 'pci'; pci: string } | { by: 'ifname'; ifname: string };

const HEADER = ['# Managed by xenbridge names --persist from the topology file\'s names: rules.', '# Change the topology file and run it again instead of editing this file.'];

/**
 * driver + index has no boot-time equivalent (systemd's Driver= cannot count), so it is written as
 * the PCI path of the NIC it matches now, or its permanent MAC when it has no PCI address.
 */
const bootKey = (rule: NameRule, index: number, nic: Link | undefined): BootKey => {
  const m = rule.match;
  if (m.by !== 'driver') return m;
  if (!nic) {
    throw new XbError('config', `${rule.where}: names[${index}] (${rule.name}, ${matchText(m)}) must match a NIC on this host to be written down`, {
      detail: ['driver + index is resolved now and written as that NIC\'s PCI path; run this on the host, or use mac or pci in the rule'],
    });
  }
  return nic.pci !== undefined ? { by: 'pci', pci: nic.pci } : { by: 'mac', mac: nic.permaddr ?? nic.mac };
};

const why = (rule: NameRule, index: number, nic: Link | undefined): string =>
  `# names[${index}]: ${rule.name}, ${matchText(rule.match)}${rule.match.by === 'driver' && nic ? ` (now ${nic.name}${nic.pci ? `, ${nic.pci}` : ''})` : ''}`;

/** The kernel hands out ethN (and wlanN, ...) itself at probe time, so a rule renaming to one races it. */
export const isKernelStyle = (name: string): boolean => /^(eth|wlan|wwan|ib|usb|bnep)\d+$/.test(name);

export const kernelStyleWarnings = (rules: NameRule[]): string[] =>
  rules.flatMap((r, i) => (isKernelStyle(r.name)
    ? [`${r.where}: names[${i}] (${r.name}) is a kernel-style name: at boot the kernel may give ${r.name} to another NIC first, and the rename then fails with "File exists" (systemd#7293, #16665); a name like fe0 or lan0 cannot collide`]
    : []));

const linkMatch = (k: BootKey): string =>
  k.by === 'mac' ? `MACAddress=${k.mac}` : k.by === 'pci' ? `Path=pci-${k.pci}` : `OriginalName=${k.ifname}`;

export const renderLinkFiles = (rules: NameRule[], nics: (Link | undefined)[]): PersistFile[] =>
  rules.map((rule, i) => ({
    path: `${LINK_DIR}/${LINK_PREFIX}${rule.name}.link`,
    text: [
      ...HEADER, why(rule, i, nics[i]),
      // Type=ether: a bridge or VLAN device that shares the NIC's MAC is never renamed.
      '[Match]', linkMatch(bootKey(rule, i, nics[i])), 'Type=ether', '',
      // Replacing 99-default.link for this NIC: keep its predictable names as alternative names.
      '[Link]', `Name=${rule.name}`, 'AlternativeNamesPolicy=database onboard slot path', '',
    ].join('\n'),
  }));

const udevMatch = (k: BootKey, rule: NameRule): string => {
  // DRIVERS=="?*": only links with a device behind them, so bridges, VLANs and veths never match.
  const drivers = rule.match.by === 'driver' ? `DRIVERS=="${rule.match.driver}"` : 'DRIVERS=="?*"';
  const key = k.by === 'mac' ? `ATTR{address}=="${k.mac}"` : k.by === 'pci' ? `KERNELS=="${k.pci}"` : `KERNEL=="${k.ifname}"`;
  return `SUBSYSTEM=="net", ACTION=="add", ${drivers}, ATTR{type}=="1", ${key}, NAME="${rule.name}"`;
};

export const renderUdevRules = (rules: NameRule[], nics: (Link | undefined)[]): PersistFile[] =>
  rules.length === 0 ? [] : [{
    path: UDEV_FILE,
    text: [...HEADER, ...rules.flatMap((rule, i) => [why(rule, i, nics[i]), udevMatch(bootKey(rule, i, nics[i]), rule)]), ''].join('\n'),
  }];

export const renderPersist = (backend: Backend, rules: NameRule[], nics: (Link | undefined)[]): PersistFile[] =>
  backend === 'systemd' ? renderLinkFiles(rules, nics) : renderUdevRules(rules, nics);
