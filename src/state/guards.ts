/**
 * Reading vif guards back from the kernel (`nft -j list table`), for verify, show and apply.
 */
import { XbError, isXbError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import { GUARD_TABLE, MAP_IN, MAP_OUT } from '../model/guard-table.js';

export interface LiveGuard {
  dev: string;
  /** The digest in the in-chain's head rule (its comment) (plan/guard.ts guardDigest), if any. */
  digest?: string;
  inChain: boolean;
  outChain: boolean;
  /** Which verdict maps send the port's frames to its chains. */
  inMapped: boolean;
  outMapped: boolean;
  /** Whether the table's hook chains send frames through both maps, and do nothing else (the same for every port). */
  hooked: boolean;
  /** Each chain's rules in order, as their comments ('' for a rule without one): what verify compares with the record's rules. */
  inShape: string[];
  outShape: string[];
  /** Drop rules by reason (their comment), with the frames each has dropped, both directions summed. */
  drops: Record<string, number>;
  /** The same, from the guest (in-PORT) and toward it (out-PORT). */
  dropsIn: Record<string, number>;
  dropsOut: Record<string, number>;
}

interface NftRule {
  chain: string;
  comment?: string;
  expr?: Record<string, unknown>[];
}

/**
 * A hook chain whose one rule sends every frame through `map` (`iifname vmap @vifs-in`): a rule put
 * before it (an `accept`) would let every frame past every guard with the map still in place.
 */
const dispatches = (items: NftItem[], chain: string, map: string): boolean => {
  const rules = items.filter((i) => i.rule?.chain === chain);
  return rules.length === 1 && (rules[0]?.rule?.expr ?? []).some((e) => (e.vmap as { data?: unknown } | undefined)?.data === `@${map}`);
};
type NftItem = { rule?: NftRule; chain?: { name: string }; map?: { name: string; elem?: unknown[] } };

const HEAD = /^xenbridge ([0-9a-f]+)$/;

const LIST_TIMEOUT_S = 10;

const nftList = async (runner: Runner, what: string[], required: boolean): Promise<NftItem[] | undefined> => {
  let r;
  try {
    r = await runner.run('nft', ['-j', 'list', ...what], { inNetns: true, timeoutMs: LIST_TIMEOUT_S * 1000 });
  } catch (e) {
    if (!isXbError(e) || e.kind !== 'command') throw e;
    // The kernel keeps its rules without the tool: recorded guards may stand, and cannot be seen or
    // put back (trying would end in nft's whole failed batch). With none recorded there is nothing to see.
    if (required) throw new XbError('command', `${e.message}: the vif guards recorded here cannot be read or put back`, { detail: ['install nftables (apt install nftables), then run it again'] });
    return undefined;
  }
  if (r.exitCode !== 0) {
    // Only a table that is not there means no guards: a list killed or refused says nothing of them.
    if (!required || (!r.timedOut && r.stderr.startsWith('Error: No such file or directory'))) return undefined;
    const why = r.timedOut ? `did not answer within ${LIST_TIMEOUT_S} s` : `failed: ${r.stderr.split('\n')[0] ?? ''}`;
    throw new XbError('command', `nft -j list ${what.join(' ')} ${why}: the vif guards recorded here cannot be read or put back`);
  }
  let v: unknown;
  try {
    v = JSON.parse(r.stdout);
  } catch {
    throw new XbError('command', `nft -j list ${what.join(' ')} printed something that is not JSON`);
  }
  // Only objects pass: each field used below is optional-chained and checked where it is read.
  const items = typeof v === 'object' && v !== null ? (v as { nftables?: unknown }).nftables : undefined;
  if (!Array.isArray(items)) throw new XbError('command', `nft -j list ${what.join(' ')} printed no "nftables" list`);
  return items.filter((i): i is NftItem => typeof i === 'object' && i !== null);
};

const packets = (r: NftRule): number => {
  const c = r.expr?.find((e) => 'counter' in e)?.counter as { packets?: number } | undefined;
  return c?.packets ?? 0;
};

const mappedNames = (items: NftItem[], map: string): Set<string> =>
  new Set((items.find((i) => i.map?.name === map)?.map?.elem ?? []).map((e) => (Array.isArray(e) ? String(e[0]) : String(e))));

/** required: guards are recorded, so an nft that is not installed is an error, not "no guards". */
export const readGuards = async (runner: Runner, required = false): Promise<Map<string, LiveGuard>> => {
  const items = (await nftList(runner, ['table', ...GUARD_TABLE.split(' ')], required)) ?? [];
  const out = new Map<string, LiveGuard>();
  const hooked = dispatches(items, 'pre', MAP_IN) && dispatches(items, 'post', MAP_OUT);
  const get = (dev: string): LiveGuard => {
    let g = out.get(dev);
    if (!g) out.set(dev, (g = { dev, inChain: false, outChain: false, inMapped: false, outMapped: false, hooked, inShape: [], outShape: [], drops: {}, dropsIn: {}, dropsOut: {} }));
    return g;
  };
  for (const i of items) {
    const m = /^(in|out)-(.+)$/.exec(i.chain?.name ?? '');
    if (m?.[2]) get(m[2])[m[1] === 'in' ? 'inChain' : 'outChain'] = true;
    const r = i.rule;
    const rm = r ? /^(in|out)-(.+)$/.exec(r.chain) : null;
    if (!r || !rm?.[2]) continue;
    const g = get(rm[2]);
    (rm[1] === 'in' ? g.inShape : g.outShape).push(r.comment ?? '');
    const head = HEAD.exec(r.comment ?? '');
    if (head && rm[1] === 'in') g.digest = head[1];
    else if (r.comment && !head) {
      const side = rm[1] === 'in' ? g.dropsIn : g.dropsOut;
      g.drops[r.comment] = (g.drops[r.comment] ?? 0) + packets(r);
      side[r.comment] = (side[r.comment] ?? 0) + packets(r);
    }
  }
  for (const dev of mappedNames(items, MAP_IN)) get(dev).inMapped = true;
  for (const dev of mappedNames(items, MAP_OUT)) get(dev).outMapped = true;
  return out;
};
