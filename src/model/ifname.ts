/**
 * Linux interface-name rules, as the kernel (dev_valid_name, IFNAMSIZ 16 so 15 bytes) and iproute2
 * accept and read them, and the names xenbridge derives. Every name from a file, a flag, the
 * environment or xenstore passes ifnameProblem before it reaches a batch line or the kernel.
 */
import { shown } from '../errors.js';

export const IFNAME_MAX = 15;

/**
 * Names the kernel or `ip` give a meaning other than the name itself:
 * - `%` makes the kernel pick a free name (br%d becomes br0), so the link is not the one asked for;
 * - `#` starts a comment in `ip -batch` and `"`/`'` are stripped by its word splitter, `\` escapes;
 * - `if<N>` that does not exist is read by iproute2 as "the link with ifindex N";
 * - `all` and `default` clash with /proc/sys/net/*\/conf/{all,default}, `.`/`..` with sysfs;
 * - `* ? [ ] |` are patterns and `$` a substitution in the udev rules and systemd .link files that
 *   persist names for boot, where they would match or name other NICs than apply does.
 */
const RESERVED = new Set(['.', '..', 'all', 'default']);

/** Returns why a name is unusable, or undefined when the kernel and `ip` take it as itself. */
export const ifnameProblem = (name: string): string | undefined => {
  const q = shown(name);
  if (name.length === 0) return 'interface name is empty';
  if (Buffer.byteLength(name) > IFNAME_MAX) return `interface name ${q} is longer than ${IFNAME_MAX} bytes`;
  if (RESERVED.has(name)) return `interface name ${q} is reserved`;
  if (/[/:\s]/.test(name)) return `interface name ${q} contains "/", ":" or whitespace`;
  if (!/^[\x21-\x7e]+$/.test(name)) return `interface name ${q} contains non-printable or non-ASCII characters`;
  if (/[%#"'\\]/.test(name)) return `interface name ${q} contains a character the kernel or ip interprets (% # " ' \\)`;
  if (/[*?[\]|$]/.test(name)) return `interface name ${q} contains a character udev or systemd would read as a pattern or a substitution (* ? [ ] | $)`;
  if (/^if[+-]?\d/.test(name)) return `interface name ${q} would be read by ip as an interface index (if<N>)`;
  if (name.startsWith('-')) return `interface name ${q} starts with "-" (ip would read it as an option)`;
  return undefined;
};

/** A name shaped like a VLAN device (eth0.10): network-bridge's ifdown would destroy it. */
export const looksLikeVlanDevice = (name: string): boolean => /\.\d+$/.test(name);

/** A name netback (vifD.N) or QEMU (vifD.N-emu) gives a guest's device. */
export const XEN_VIF_RE = /^vif\d+\.\d+(-emu)?$/;

export const defaultVlanBridge = (bridge: string, vid: number): string => `${bridge}v${vid}`;
export const defaultVlanDevice = (parent: string, vid: number): string => `${parent}.${vid}`;
export const defaultPeer = (bridge: string): string => `${bridge}-d0`;
export const defaultUplinkPort = (uplink: string): string => `p${uplink}`;
