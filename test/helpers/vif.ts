/**
 * Xen-like vifs without Xen: a veth whose dom0 end is named like netback's vifD.N and whose far end
 * is eth0 in a "domU" namespace, plus a file-backed xenstore (test/fixtures/xenstore on PATH).
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Sandbox } from './netns.js';
import { cli, ROOT, sh, type CliResult } from './sh.js';

/** The MAC makeVif gives domU d's eth0 n, and setVif writes as xenstore mac unless told otherwise. */
export const guestMac = (d: number, n: number): string => `00:16:3e:00:${d.toString(16).padStart(2, '0')}:${n.toString(16).padStart(2, '0')}`;

export interface XenBed {
  store: string;
  env: Record<string, string>;
  setVif(domid: number, devid: number, keys: Record<string, string>): void;
  read(domid: number, devid: number, key: string): string | undefined;
  /** Creates vifD.N in dom0 and a domU namespace with eth0 (and the given address) on its far end. */
  makeVif(domid: number, devid: number, addr?: string): Promise<string>;
  hook(action: string, domid: number, devid: number, extra?: Record<string, string>): Promise<CliResult>;
  cleanup(): Promise<void>;
}

export const makeXenBed = (sb: Sandbox, topologyFile: string): XenBed => {
  const store = join(sb.runDir, 'xenstore');
  mkdirSync(store, { recursive: true });
  const domUs: string[] = [];
  const env = {
    ...sb.env,
    PATH: `${join(ROOT, 'test/fixtures/xenstore')}:${sb.env.PATH}`,
    XENSTORE_DIR: store,
    XENBRIDGE_NETNS: sb.dom0,
    XENBRIDGE_CONFIG: topologyFile,
    XENBRIDGE_HOTPLUG_LOG: join(sb.runDir, 'xen-hotplug.log'),
    XENBRIDGE_TEST_SYSLOG: join(sb.runDir, 'syslog'),
  };
  const base = (d: number, n: number) => join(store, `backend/vif/${d}/${n}`);
  return {
    store,
    env,
    setVif: (d, n, keys) => {
      mkdirSync(base(d, n), { recursive: true });
      for (const [k, v] of Object.entries({ mac: guestMac(d, n), ...keys })) writeFileSync(join(base(d, n), k), v);
    },
    read: (d, n, key) => (existsSync(join(base(d, n), key)) ? readFileSync(join(base(d, n), key), 'utf8') : undefined),
    makeVif: async (d, n, addr) => {
      const ns = `${sb.dom0}u${d}x${n}`;
      domUs.push(ns);
      await sh(`ip netns add ${ns} && ip -n ${sb.dom0} link add name vif${d}.${n} type veth peer name eth0 address ${guestMac(d, n)} netns ${ns}`);
      await sh(`ip -n ${ns} link set lo up && ip -n ${ns} link set eth0 up${addr ? ` && ip -n ${ns} addr add ${addr} dev eth0` : ''}`);
      return ns;
    },
    hook: (action, d, n, extra = {}) => {
      const tap = action === 'add' || action === 'remove';
      return cli(['vif', action, `type_if=${tap ? 'tap' : 'vif'}`], {
        ...env, XENBUS_PATH: `backend/vif/${d}/${n}`, XENBUS_TYPE: 'vif', XENBUS_BASE_PATH: 'backend', netdev: '', script: '/etc/xen/scripts/vif-xenbridge',
        ...(tap ? { INTERFACE: `vif${d}.${n}-emu` } : { vif: `vif${d}.${n}` }), ...extra,
      });
    },
    cleanup: async () => {
      for (const ns of domUs) await sh(`ip netns del ${ns} 2>/dev/null; true`);
    },
  };
};

/** Polls an async condition every 50 ms until it holds, or fails after ms. */
export const waitUntil = async (what: string, ok: () => Promise<boolean>, ms = 5000): Promise<void> => {
  for (const end = Date.now() + ms; !(await ok()); await new Promise((r) => setTimeout(r, 50))) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
};

/** addr on a guest's eth0 once its DAD has ended: 'ok' or 'dadfailed', one entry per copy. */
export const dadResult = async (ns: string, addr: string): Promise<string[]> => {
  const of = async (): Promise<string[]> => (JSON.parse(await sh(`ip -n ${ns} -j -6 addr show dev eth0`))[0].addr_info as { local: string; dadfailed?: boolean; tentative?: boolean }[])
    .filter((a) => a.local === addr).map((a) => (a.dadfailed ? 'dadfailed' : a.tentative ? 'tentative' : 'ok'));
  await waitUntil(`DAD of ${addr} to end`, async () => !(await of()).includes('tentative'), 10_000);
  return of();
};

