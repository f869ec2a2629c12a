/**
 * The hook's side of vif guards: what a vif may send and receive, from its target and its xenstore
 * `mac` and `ip`; the steps that put that guard in place or take it away; and a record per port
 * under the run directory, so a guard can be put back exactly (by a rollback, or by apply).
 */
import { shown, XbError } from '../errors.js';
import { forgetOps, hasGuardRecords, readableRetired, readGuardRecord, retiredGuards } from '../apply/guard-records.js';
import { commitFiles } from '../txn/commit-files.js';
import type { Context } from '../context.js';
import { ipFamily, MAC_RE, parseCidr } from '../model/net.js';
import { guardDigest, type VifGuard } from '../plan/guard.js';
import type { Step } from '../plan/steps.js';
import { addGuard, delGuard } from '../plan/steps-guard.js';
import type { VifTarget } from '../plan/vif-target.js';
import { readLinks } from '../state/read.js';
import { linkByName, type HostState } from '../state/types.js';
import { commitRun, execute } from '../txn/execute.js';
import { recoverVifLocked } from '../txn/recover-run.js';
import { HOOK_RECORDS, withTxn } from '../txn/txn.js';

const addressOf = (raw: string, item: string): string => {
  if (ipFamily(item) !== 0) return item;
  const c = parseCidr(item);
  if (c) return `${c.address}/${c.prefix}`;
  throw new XbError('xenstore', `ip ${shown(raw)}: ${shown(item)} is not an IP address`);
};

export interface GuardKeys {
  mac?: string;
  ip?: string;
}

const MAX_IP6 = 24;

/** The guard a vif gets; undefined when its bridge turns off both antispoofing and VLAN shape. */
export const guardOf = (target: VifTarget, keys: GuardKeys, dev: string): VifGuard | undefined => {
  const g: VifGuard = { dev, ...(target.shape ? { vlans: target.shape } : {}) };
  if (target.spec.vifAntispoof) {
    const mac = keys.mac?.toLowerCase();
    if (mac === undefined || mac === '') throw new XbError('xenstore', `xenstore mac is not set: antispoofing on ${target.spec.name} needs the guest's MAC (or vif-antispoof: false there)`);
    if (!MAC_RE.test(mac) || (parseInt(mac.slice(0, 2), 16) & 1) === 1) throw new XbError('xenstore', `mac ${shown(keys.mac ?? '')} is not a unicast MAC address`);
    g.mac = mac;
    const ips = (keys.ip ?? '').split(/\s+/).filter((x) => x !== '');
    if (ips.length > 64) throw new XbError('xenstore', `ip lists ${ips.length} addresses (at most 64)`);
    if (ips.length > 0) g.ips = [...new Set(ips.map((i) => addressOf(keys.ip ?? '', i)))];
    // Each IPv6 entry is one comparison in the rule that holds a neighbor advertisement's target, and
    // nft refuses that rule past about 30 of them (fewer with prefixes not on a byte boundary).
    const v6 = g.ips?.filter((a) => a.includes(':')).length ?? 0;
    if (v6 > MAX_IP6) throw new XbError('xenstore', `ip lists ${v6} IPv6 addresses or prefixes (at most ${MAX_IP6}; a prefix such as 2001:db8::/64 covers any number of addresses)`);
  }
  return g.vlans || g.mac ? g : undefined;
};

/**
 * Steps that make the port's guard `want`, from its records alone: reading nft back would cost the
 * hook a process per vif event; a guard lost behind the record's back is verify's and apply's job.
 * A retired guard (its vif's offline left it) is always written again, never trusted as it stands:
 * it sat in the kernel with no port to make anyone look at it.
 */
export const planGuard = (dir: string, dev: string, want: VifGuard | undefined): Step[] => {
  const rec = readGuardRecord(dir, dev);
  const old = rec ?? readableRetired(dir, dev);
  // Another port's guard in use means the hook chains were made since boot: not made again here.
  if (want) return rec && guardDigest(rec) === guardDigest(want) ? [] : [addGuard(want, old, hasGuardRecords(dir, dev))];
  return old ? [delGuard(old)] : [];
};

/** Offlines that leave their guard at most, before the next offline without the hook service removes them all. */
export const COLLECT_AT = 32;

/** Retired guards whose port is not attached now: safe to remove. An unreadable record is left for apply and verify. */
export const collectable = (dir: string, names: string[], s: Pick<HostState, 'links'>): VifGuard[] =>
  names.filter((n) => !linkByName(s as HostState, n)?.master).flatMap((n) => readableRetired(dir, n) ?? []);

/** Under the lock: removes the retired guards whose port is not attached, in one nft transaction; their names. */
export const collectLocked = async (ctx: Context): Promise<string[]> => {
  const dir = ctx.runDir;
  const names = retiredGuards(dir);
  if (names.length === 0) return [];
  const gone = collectable(dir, names, await readLinks(ctx.runner, { kernel: ctx.kernel, names }));
  if (gone.length === 0) return [];
  const j = await execute(ctx.runner, dir, gone.map(delGuard), 'vif guards: collect');
  commitRun(dir, j, (id) => commitFiles(dir, id, gone.flatMap((g) => forgetOps(g.dev))));
  return gone.map((g) => g.dev);
};

/**
 * The hook service's collection when idle. It only tries the lock briefly (an apply or a hook holds
 * it: the next quiet moment will do), and gives way to an event that came meanwhile.
 */
export const collectGuards = async (ctx: Context, lockMs: number, proceed: () => boolean): Promise<string | undefined> => {
  const dir = ctx.runDir;
  if (retiredGuards(dir).length === 0) return undefined;
  return withTxn(dir, async () => {
    if (!proceed()) return undefined;
    const recovered = await recoverVifLocked(ctx.runner, dir);
    const gone = await collectLocked(ctx);
    const what = gone.length === 0 ? undefined : `removed the guards of ${gone.length} detached vif(s): ${gone.join(' ')}`;
    return [what, recovered].filter((x) => x !== undefined).join('; ') || undefined;
  }, { records: HOOK_RECORDS, lockMs });
};
