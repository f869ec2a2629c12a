/** Shown -> a tree for people, or a topology file that `apply` accepts. */
import { stringify } from 'yaml';
import { bondTreeText, bondYaml } from './bond.js';
import type { Shown, ShownBridge } from './model.js';

const addrText = (a: string[]): string => (a.length > 0 ? `  ${a.join(' ')}` : '');

const bridgeTree = (b: ShownBridge): string[] => {
  const head = `${b.name}  ${b.mode}, mtu ${b.mtu}, stp ${b.stp ? 'on' : 'off'}${b.up ? '' : ', DOWN'}`;
  const rows: string[][] = [];
  if (b.uplink) rows.push([`${b.uplink.name}  uplink${b.uplink.up ? '' : ', DOWN'}${b.uplink.carrier ? '' : ', no carrier'}${b.uplink.bond ? bondTreeText(b.uplink.bond) : ''}`]);
  if (b.dom0) {
    const d = b.dom0;
    const sub = b.vlans.map((v) => {
      const target = v.bridge ? ` -> ${v.bridge}` : '';
      const ports = v.ports.length > 0 ? `  [${v.ports.join(', ')}]` : '';
      return `${v.device}  VLAN ${v.id}${target}${addrText(v.addresses)}${ports}`;
    });
    rows.push([`${d.peer} <-> ${d.ifname}  dom0${addrText([...fromNetwork(d), ...d.addresses])}${d.gateway ? `  via ${d.gateway}` : ''}`, ...sub]);
  }
  for (const p of b.ports) rows.push([`${p.name}${p.vids.length > 0 ? `  VIDs ${p.vids.join(',')}` : ''}`]);
  const out = [head];
  rows.forEach((r, i) => {
    const last = i === rows.length - 1;
    out.push(`${last ? '└─ ' : '├─ '}${r[0]}`);
    r.slice(1).forEach((s, j) => out.push(`${last ? '   ' : '│  '}${j === r.length - 2 ? '└─ ' : '├─ '}${s}`));
  });
  return out;
};

export const renderTree = (s: Shown): string =>
  s.bridges.length === 0 ? 'no bridges\n' : s.bridges.map((b) => bridgeTree(b).join('\n')).join('\n\n') + '\n';

type Dom0Shown = { addresses: string[]; dhcp?: true; slaac?: true; dhcp6?: true };

/** The addresses dom0 gets from the network, as the file names them. */
const fromNetwork = (d: Dom0Shown): string[] => [d.dhcp && 'dhcp', d.slaac && 'slaac', d.dhcp6 && 'dhcp6'].filter((w): w is string => typeof w === 'string');

/** `dhcp` (or slaac, dhcp6) alone, or first in the list beside static addresses. */
const dom0Addresses = (d: Dom0Shown): string | string[] => {
  const words = fromNetwork(d);
  return words.length === 1 && d.addresses.length === 0 ? (words[0] ?? '') : [...words, ...d.addresses];
};

export const renderTopologyYaml = (s: Shown): string => {
  const bridges = s.bridges.map((b) => {
    const trunkOnly = b.mode === 'filtering' ? [...new Set(b.ports.flatMap((p) => p.vids))].filter((v) => v !== 1 && !b.vlans.some((x) => x.id === v)) : [];
    return {
      name: b.name,
      ...(b.uplink ? { uplink: b.uplink.name } : {}),
      mode: b.mode,
      mtu: b.mtu,
      stp: b.stp,
      ...(b.stp ? { 'forward-delay': b.forwardDelay } : {}),
      ...(b.dom0 ? { dom0: { ifname: b.dom0.ifname, peer: b.dom0.peer, addresses: dom0Addresses(b.dom0), ...(b.dom0.gateway ? { gateway: b.dom0.gateway } : {}) } } : {}),
      vlans: b.vlans.map((v) => ({ id: v.id, ...(v.bridge ? { bridge: v.bridge } : {}), device: v.device, ...(v.addresses.length > 0 ? { addresses: v.addresses } : {}) })),
      ...(trunkOnly.length > 0 ? { 'vif-vlans': trunkOnly.sort((x, y) => x - y) } : {}),
    };
  });
  const bonds = s.bridges.flatMap((b) => (b.uplink?.bond ? [bondYaml(b.uplink.name, b.uplink.bond)] : []));
  return stringify({ version: 1, ...(bonds.length > 0 ? { bonds } : {}), bridges }, { flowCollectionPadding: false });
};
