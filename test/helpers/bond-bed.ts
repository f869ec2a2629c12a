/**
 * Bond test beds (inside the VM: these machines' own kernel has no bonding): a switch namespace
 * facing dom0's NICs, guest namespaces, and exact dumps of a namespace with its bonds' state.
 */
import { createRunner, type Runner } from '../../src/exec/runner.js';

export const MIIMON = 100;

export interface Bed {
  sw: Runner;
  dom0: Runner;
  guests: Runner[];
  names: string[];
}

let counter = 0;
const host = createRunner();
const made: string[] = [];

export const ipb = async (r: Runner, lines: string[]): Promise<void> => {
  const res = await r.batch('ip', lines);
  if (!res.ok) throw new Error(`${lines[res.done]}: ${res.stderr}`);
};

const namespaces = async (n: number): Promise<{ names: string[]; runners: Runner[] }> => {
  const id = `xbb${process.pid % 10000}${counter++}`;
  const names = ['s', 'd', 'g1', 'g2'].slice(0, n).map((s) => `${id}${s}`);
  made.push(...names);
  await ipb(host, names.map((x) => `netns add ${x}`));
  return { names, runners: names.map((x) => createRunner(x)) };
};

/** Deletes every namespace the beds made. */
export const removeBeds = async (): Promise<void> => {
  await host.batch('ip', made.map((n) => `netns del ${n}`), { force: true });
};

/** The switch's side of two of dom0's NICs: a bond (LACP's partner) or a plain bridge over swX/swY. */
const switchPair = (dom0: string, sw: [string, string], nic: [string, string], agg: string, lacp: boolean): string[] => [
  `link add name ${sw[0]} type veth peer name ${nic[0]} netns ${dom0}`, `link add name ${sw[1]} type veth peer name ${nic[1]} netns ${dom0}`,
  lacp ? `link add name ${agg} type bond mode 802.3ad miimon ${MIIMON} lacp_rate fast` : `link add name ${agg} type bridge stp_state 0 forward_delay 0`,
  `link set dev ${sw[0]} master ${agg}`, `link set dev ${sw[1]} master ${agg}`,
  `link set dev ${agg} up`, `link set dev ${sw[0]} up`, `link set dev ${sw[1]} up`,
];

/**
 * sw: the switch, with swa/swb facing dom0's eth0/eth1 (in 802.3ad a bond of them, LACP's partner;
 * otherwise a plain bridge) and 192.0.2.1. Two guest namespaces get veths whose dom0 ends are attached
 * to xenbr0 after the apply, as the vif hook would.
 */
export const makeBed = async (lacp: boolean): Promise<Bed> => {
  const { names, runners } = await namespaces(4);
  const [sw, dom0, g1, g2] = runners as [Runner, Runner, Runner, Runner];
  await ipb(sw, ['link set dev lo up', ...switchPair(names[1]!, ['swa', 'swb'], ['eth0', 'eth1'], 'swagg', lacp), 'addr add 192.0.2.1/24 dev swagg']);
  await ipb(dom0, ['link set dev lo up', 'addr add 192.0.2.10/24 dev eth0', 'link set dev eth0 up', 'link set dev eth1 up', 'route add default via 192.0.2.1 dev eth0']);
  for (const [i, g] of [g1, g2].entries()) {
    await ipb(g, ['link set dev lo up', `link add name eth0 type veth peer name vg${i + 1} netns ${names[1]}`, `addr add 192.0.2.2${i + 1}/24 dev eth0`, 'link set dev eth0 up']);
  }
  // Up once, as they will have been by the end (a veth gets its qdisc when first up).
  await ipb(dom0, ['link set dev vg1 up', 'link set dev vg2 up', 'link set dev vg1 down', 'link set dev vg2 down']);
  return { sw, dom0, guests: [g1, g2], names };
};

/**
 * Two networks: eth0/eth1 plain NICs (eth0 holds 192.0.2.10 and the default route), to be bonded
 * by the apply; eth2/eth3 already in bond1, made by hand (active-backup), holding 198.51.100.10.
 */
export const makeTwoBondBed = async (): Promise<Bed> => {
  const { names, runners } = await namespaces(2);
  const [sw, dom0] = runners as [Runner, Runner];
  await ipb(sw, [
    'link set dev lo up',
    ...switchPair(names[1]!, ['swa', 'swb'], ['eth0', 'eth1'], 'swbr0', false), 'addr add 192.0.2.1/24 dev swbr0',
    ...switchPair(names[1]!, ['swc', 'swd'], ['eth2', 'eth3'], 'swbr1', false), 'addr add 198.51.100.1/24 dev swbr1',
  ]);
  await ipb(dom0, [
    'link set dev lo up', 'addr add 192.0.2.10/24 dev eth0', 'link set dev eth0 up', 'link set dev eth1 up', 'route add default via 192.0.2.1 dev eth0',
    `link add name bond1 type bond mode active-backup miimon ${MIIMON}`, 'link set dev eth2 master bond1', 'link set dev eth3 master bond1',
    'link set dev bond1 up', 'addr add 198.51.100.10/24 dev bond1', 'route add 203.0.113.0/24 via 198.51.100.1 dev bond1',
  ]);
  return { sw, dom0, guests: [], names };
};

/** Links that went down and up list their kernel routes (fe80::/64, ff00::/8) in a new order. */
const sortedRoutes = (text: string): string => {
  const lines = text.trimEnd().split('\n');
  const routes = (JSON.parse(lines.pop() ?? '[]') as unknown[]).map((r) => JSON.stringify(r)).sort();
  return [...lines, `[${routes.join(',')}]`].join('\n');
};

/**
 * `ip -j -d` links, addresses and routes, once settled. The link_failure_count a member failed in a
 * test keeps is the kernel's counter, not state to undo.
 */
export const dump = async (r: Runner): Promise<string> => {
  for (let i = 0; i < 30; i++) {
    const out = (await r.batch('ip', ['link show', 'addr show', 'route show table all'], { json: true, details: true })).stdout
      .replace(/"[a-z_]*_timer":[0-9.]+,?/g, '').replace(/"link_failure_count":\d+/g, '"link_failure_count":"_"');
    if (!out.includes('"tentative"') && !/"flags":\["NO-CARRIER"[^\]]*"UP"/.test(out)) return sortedRoutes(out);
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error('did not settle');
};

/** The kernel's own account of every bond in the namespace (/proc/net/bonding): mode, active member, members. */
export const bonding = async (r: Runner): Promise<string> => {
  const res = await r.run('sh', ['-c', 'cd /proc/net/bonding 2>/dev/null && for b in *; do echo "== $b"; cat "$b"; done'], { inNetns: true });
  return res.stdout.replace(/Link Failure Count: \d+/g, 'Link Failure Count: _');
};
