/**
 * Namespaces that stand in for the lab's machines, built with one `ip -batch` per namespace (a fork
 * costs ~100 batch ops under emulation). Nothing outside these namespaces is touched.
 */
import type { Runner } from '../exec/runner.js';
import { createRunner } from '../exec/runner.js';
import { XbError } from '../errors.js';
import { DOM0_NIC, LAB_GUESTS, SWITCH, labGuestMac, type LabGuest } from './example.js';

export interface LabNames {
  sw: string;
  dom0: string;
  guest(g: LabGuest): string;
}

export const labNames = (prefix: string): LabNames => ({
  sw: `${prefix}-sw`,
  dom0: `${prefix}-dom0`,
  guest: (g) => `${prefix}-${g.vif.replace('.', '-')}`,
});

const allNs = (n: LabNames): string[] => [n.sw, n.dom0, ...LAB_GUESTS.map(n.guest)];

const must = async (r: Runner, lines: string[], what: string): Promise<void> => {
  const res = await r.batch('ip', lines);
  if (!res.ok) throw new XbError('command', `lab: cannot ${what}: ${res.stderr.split('\n')[0]}`, { detail: [lines[res.done] ?? ''] });
};

/** Whether this kernel can make VLAN devices (these machines' own kernel cannot). */
export const hasVlanSupport = async (host: Runner, prefix: string): Promise<boolean> => {
  const ns = `${prefix}-probe`;
  await host.batch('ip', [`netns del ${ns}`], { force: true });
  await must(host, [`netns add ${ns}`], 'create a namespace');
  const r = await createRunner(ns).batch('ip', ['link add name p0 type veth peer name p1', 'link add link p0 name p0.10 type vlan id 10']);
  await host.batch('ip', [`netns del ${ns}`], { force: true });
  return r.ok;
};

export const buildSandbox = async (host: Runner, n: LabNames): Promise<void> => {
  await host.batch('ip', allNs(n).map((ns) => `netns del ${ns}`), { force: true });
  await must(host, allNs(n).map((ns) => `netns add ${ns}`), 'create namespaces');
  const sw = createRunner(n.sw);
  await must(sw, [
    'link set dev lo up',
    `link add name sw0 type veth peer name eth0 netns ${n.dom0}`,
    `addr add ${SWITCH.untagged} dev sw0`,
    'link set dev sw0 up',
    ...Object.entries(SWITCH.vlans).flatMap(([vid, addr]) => [
      `link add link sw0 name sw0.${vid} type vlan id ${vid}`, `addr add ${addr} dev sw0.${vid}`, `link set dev sw0.${vid} up`,
    ]),
  ], 'build the switch');
  await must(createRunner(n.dom0), [
    'link set dev lo up', `addr add ${DOM0_NIC.address} dev eth0`, 'link set dev eth0 up', `route add default via ${DOM0_NIC.gateway} dev eth0`,
    ...LAB_GUESTS.map((g) => `link add name ${g.vif} type veth peer name eth0 address ${labGuestMac(g.vif)} netns ${n.guest(g)}`),
  ], 'build dom0');
  for (const g of LAB_GUESTS) {
    await must(createRunner(n.guest(g)), [
      'link set dev lo up', 'link set dev eth0 up',
      ...g.ifaces.flatMap((i) => (i.vlan === undefined
        ? [`addr add ${i.address} dev eth0`]
        : [`link add link eth0 name eth0.${i.vlan} type vlan id ${i.vlan}`, `addr add ${i.address} dev eth0.${i.vlan}`, `link set dev eth0.${i.vlan} up`])),
    ], `build guest ${g.vif}`);
  }
};

export const teardownSandbox = async (host: Runner, n: LabNames): Promise<void> => {
  await host.batch('ip', allNs(n).map((ns) => `netns del ${ns}`), { force: true });
};
