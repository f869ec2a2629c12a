/**
 * Pure inputs for the traffic verify's unit tests: the lab's live state after apply (classic,
 * filtering, and the seed's naive layout), as `ip -j`/`bridge -j` would give it, and the frames
 * each hop would capture when every probe passes, to be taken away or re-tagged per test.
 */
import { parseTopology } from '../../src/config/validate.js';
import { labTopology } from '../../src/lab/example.js';
import type { BridgeMode, Topology } from '../../src/model/topology.js';
import type { Addr, HostState, Link, LinkKind, VlanEntry } from '../../src/state/types.js';
import type { Frame } from '../../src/verify/traffic/frame.js';
import { echoPattern } from '../../src/verify/traffic/match.js';
import type { Captured } from '../../src/verify/traffic/observe.js';
import type { Check, PathSpec, Tag } from '../../src/verify/traffic/types.js';

export const DOM0_MAC = 'aa:00:00:00:00:01';
export const SWITCH_MAC = '5a:00:00:00:00:99';
export const NONCE = Buffer.from('0123456789ab', 'hex');

const addr = (cidr: string): Addr => {
  const [local = '', len = '24'] = cidr.split('/');
  return { family: 4, local, prefixlen: Number(len), scope: 'global', flags: [], managed: false };
};

export const link = (name: string, kind: LinkKind, o: Partial<Link> & { cidrs?: string[] } = {}): Link => {
  const { cidrs = [], ...rest } = o;
  return {
    ifindex: 0, name, kind, kindName: kind, up: true, operstate: 'UP', carrier: true, mtu: 1500, mac: DOM0_MAC,
    peerElsewhere: false, addrs: cidrs.map(addr), ...(rest.master ? { portState: 'forwarding' } : {}), ...rest, noarp: rest.noarp ?? false,
  };
};

const vif = (name: string, master: string): Link => link(name, 'veth', { master, peerElsewhere: true, mac: 'fe:ff:ff:ff:ff:ff' });
const entry = (dev: string, vid: number, flags: { pvid?: boolean; untagged?: boolean } = {}): VlanEntry => ({ dev, vid, pvid: flags.pvid ?? false, untagged: flags.untagged ?? false });
const trunk = (dev: string): VlanEntry[] => [entry(dev, 1, { pvid: true, untagged: true }), entry(dev, 10), entry(dev, 20)];

const common = (filtering: boolean): Link[] => [
  link('peth0', 'veth', { master: 'xenbr0', peerElsewhere: true, mac: 'fe:ff:ff:ff:ff:ff' }),
  link('xenbr0', 'bridge', { mac: '02:00:00:00:00:b0', bridge: { stp: false, forwardDelay: 0, vlanFiltering: filtering } }),
  link('xenbr0-d0', 'veth', { master: 'xenbr0', link: 'eth0', mac: 'fe:ff:ff:ff:ff:ff' }),
  link('eth0', 'veth', { link: 'xenbr0-d0', cidrs: ['192.0.2.10/24'] }),
];

const routes: HostState['routes'] = [{ family: 4, dst: 'default', gateway: '192.0.2.1', dev: 'eth0', onlink: false }];

export const labState = (mode: BridgeMode): HostState => mode === 'classic'
  ? {
    links: [
      ...common(false),
      link('eth0.10', 'vlan', { vlanId: 10, link: 'eth0', master: 'xenbr0v10' }),
      link('xenbr0v10', 'bridge', { cidrs: ['10.10.0.2/24'], bridge: { stp: false, forwardDelay: 0, vlanFiltering: false } }),
      link('eth0.20', 'vlan', { vlanId: 20, link: 'eth0', master: 'xenbr0v20' }),
      link('xenbr0v20', 'bridge', { bridge: { stp: false, forwardDelay: 0, vlanFiltering: false } }),
      vif('vif1.0', 'xenbr0v10'), vif('vif2.0', 'xenbr0'), vif('vif3.0', 'xenbr0'),
    ],
    routes, vlans: [], kernel: '6.1.0',
  }
  : {
    links: [
      ...common(true),
      link('eth0.10', 'vlan', { vlanId: 10, link: 'eth0', cidrs: ['10.10.0.2/24'] }),
      link('eth0.20', 'vlan', { vlanId: 20, link: 'eth0' }),
      vif('vif1.0', 'xenbr0'), vif('vif2.0', 'xenbr0'), vif('vif3.0', 'xenbr0'),
    ],
    routes,
    vlans: [...trunk('peth0'), ...trunk('xenbr0-d0'), entry('vif1.0', 10, { pvid: true, untagged: true }), ...trunk('vif2.0'), ...trunk('vif3.0')],
    kernel: '6.1.0',
  };

/** What network-bridge plus "vconfig add peth0 10" left: the VLAN device on the bridge's NIC port. */
export const naiveState = (): HostState => ({
  links: [
    link('peth0', 'veth', { master: 'xenbr0', peerElsewhere: true, mac: DOM0_MAC }),
    link('xenbr0', 'bridge', { cidrs: ['192.0.2.10/24'], bridge: { stp: false, forwardDelay: 0, vlanFiltering: false } }),
    link('peth0.10', 'vlan', { vlanId: 10, link: 'peth0', cidrs: ['10.10.0.2/24'] }),
    vif('vif2.0', 'xenbr0'),
  ],
  routes: [{ family: 4, dst: 'default', gateway: '192.0.2.1', dev: 'xenbr0', onlink: false }],
  vlans: [],
  kernel: '6.1.0',
});

export const lab = (mode: BridgeMode): Topology => parseTopology(labTopology(mode));

/** The frame a hop captures when probe `c` of path `p` passes it with `tag`. */
export const probeFrame = (p: PathSpec, c: Check, tag: Tag): Frame => {
  const vids = tag === null ? [] : [tag];
  const [src, dst] = c.dir === 'request' ? [p.originMac ?? DOM0_MAC, SWITCH_MAC] : [SWITCH_MAC, p.originMac ?? DOM0_MAC];
  if (c.probe === 'arp') {
    const arp = c.dir === 'request'
      ? { op: 1, sha: src, spa: p.source ?? '0.0.0.0', tha: '00:00:00:00:00:00', tpa: p.target }
      : { op: 2, sha: src, spa: p.target, tha: dst, tpa: p.source ?? '0.0.0.0' };
    return { dst: c.dir === 'request' ? 'ff:ff:ff:ff:ff:ff' : dst, src, vids, ethertype: 0x0806, length: 42, body: Buffer.alloc(28), arp };
  }
  if (c.probe === 'nd' || c.probe === 'mcast') throw new Error(`probeFrame builds IPv4 frames; ${c.probe} is IPv6's`);
  const size = c.probe === 'df' ? p.dfSize ?? 1500 : 84;
  const payload = Buffer.concat([Buffer.alloc(16), echoPattern(NONCE, p, c.probe), echoPattern(NONCE, p, c.probe)]);
  const [ipSrc, ipDst] = c.dir === 'request' ? [p.source ?? '', p.target] : [p.target, p.source ?? ''];
  return {
    dst, src, vids, ethertype: 0x0800, length: size + 14, body: Buffer.alloc(0),
    ipv4: { src: ipSrc, dst: ipDst, proto: 1, df: c.probe === 'df', totalLength: size, icmp: { type: c.dir === 'request' ? 8 : 0, code: 0, id: 1, seq: 1, payload } },
  };
};

/**
 * Every hop's capture for path `p`: by default each check's frame with the hop's expected tag;
 * `edit` returns 'none' to drop one, or another tag; `errors` makes a hop's capture fail.
 */
export const captures = (p: PathSpec, edit: (dev: string, c: Check) => Tag | 'none' | undefined = () => undefined, errors: Record<string, string> = {}): Captured => {
  const out: Captured = new Map();
  for (const h of p.hops) {
    const frames = h.checks.flatMap((c) => {
      const e = edit(h.dev, c);
      return e === 'none' ? [] : [probeFrame(p, c, e === undefined ? h.tag : e)];
    });
    const prev = out.get(h.dev);
    out.set(h.dev, errors[h.dev] ?? [...(Array.isArray(prev) ? prev : []), ...frames]);
  }
  return out;
};
