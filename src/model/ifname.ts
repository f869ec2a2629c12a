/** Linux interface-name rules (IFNAMSIZ 16, so 15 bytes) and the names xenbridge derives. */

export const IFNAME_MAX = 15;

/** Returns why a name is unusable, or undefined when the kernel will accept it. */
export const ifnameProblem = (name: string): string | undefined => {
  if (name.length === 0) return 'interface name is empty';
  if (Buffer.byteLength(name) > IFNAME_MAX) return `interface name "${name}" is longer than ${IFNAME_MAX} bytes`;
  if (name === '.' || name === '..') return `interface name "${name}" is reserved`;
  if (/[/:\s]/.test(name)) return `interface name "${name}" contains "/", ":" or whitespace`;
  if (!/^[\x21-\x7e]+$/.test(name)) return `interface name "${name}" contains non-printable or non-ASCII characters`;
  return undefined;
};

/** A name shaped like a VLAN device (eth0.10): network-bridge's ifdown would destroy it. */
export const looksLikeVlanDevice = (name: string): boolean => /\.\d+$/.test(name);

export const defaultVlanBridge = (bridge: string, vid: number): string => `${bridge}v${vid}`;
export const defaultVlanDevice = (parent: string, vid: number): string => `${parent}.${vid}`;
export const defaultPeer = (bridge: string): string => `${bridge}-d0`;
export const defaultUplinkPort = (uplink: string): string => `p${uplink}`;
