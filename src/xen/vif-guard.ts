/**
 * The hook's side of vif guards: what a vif may send and receive, from its target and its xenstore
 * `mac` and `ip`; the steps that put that guard in place or take it away; and a record per port
 * under the run directory, so a guard can be put back exactly (by a rollback, or by apply).
 */
import { XbError } from '../errors.js';
import { hasGuardRecords, readGuardRecord } from '../apply/guard-records.js';
import { ipFamily, MAC_RE, parseCidr } from '../model/net.js';
import { guardDigest, type VifGuard } from '../plan/guard.js';
import type { Step } from '../plan/steps.js';
import { addGuard, delGuard } from '../plan/steps-guard.js';
import type { VifTarget } from '../plan/vif-target.js';

const addressOf = (raw: string, item: string): string => {
  if (ipFamily(item) !== 0) return item;
  const c = parseCidr(item);
  if (c) return `${c.address}/${c.prefix}`;
  throw new XbError('xenstore', `ip "${raw}": "${item}" is not an IP address`);
};

export interface GuardKeys {
  mac?: string;
  ip?: string;
}

/** The guard a vif gets; undefined when its bridge turns off both antispoofing and VLAN shape. */
export const guardOf = (target: VifTarget, keys: GuardKeys, dev: string): VifGuard | undefined => {
  const g: VifGuard = { dev, ...(target.shape ? { vlans: target.shape } : {}) };
  if (target.spec.vifAntispoof) {
    const mac = keys.mac?.toLowerCase();
    if (mac === undefined || mac === '') throw new XbError('xenstore', `xenstore mac is not set: antispoofing on ${target.spec.name} needs the guest's MAC (or vif-antispoof: false there)`);
    if (!MAC_RE.test(mac) || (parseInt(mac.slice(0, 2), 16) & 1) === 1) throw new XbError('xenstore', `mac "${keys.mac}" is not a unicast MAC address`);
    g.mac = mac;
    const ips = (keys.ip ?? '').split(/\s+/).filter((x) => x !== '');
    if (ips.length > 64) throw new XbError('xenstore', `ip lists ${ips.length} addresses (at most 64)`);
    if (ips.length > 0) g.ips = [...new Set(ips.map((i) => addressOf(keys.ip ?? '', i)))];
  }
  return g.vlans || g.mac ? g : undefined;
};

/**
 * Steps that make the port's guard `want`, from its record alone: reading nft back would cost the
 * hook a process per vif event; a guard lost behind the record's back is verify's and apply's job.
 */
export const planGuard = (dir: string, dev: string, want: VifGuard | undefined): Step[] => {
  const rec = readGuardRecord(dir, dev);
  // Another port's record means the hook chains were made since boot (/run): not made again here.
  if (want) return rec && guardDigest(rec) === guardDigest(want) ? [] : [addGuard(want, rec, hasGuardRecords(dir, dev))];
  return rec ? [delGuard(rec)] : [];
};
