/** `show`'s view of vif guards: each guarded port, whether its guard is whole, and what it dropped. */
import type { GuardCheck } from '../apply/guard-check.js';

export interface ShownGuard {
  port: string;
  /** ok, missing, incomplete, differs, orphan, retired (apply/guard-check.ts). */
  state: string;
  vlans: string;
  mac?: string;
  ips?: string[];
  /** Frames dropped so far, by reason. */
  drops: Record<string, number>;
}

export const showGuards = (checks: GuardCheck[]): ShownGuard[] =>
  checks.map((c) => {
    const v = c.record?.vlans;
    const vlans = !c.record ? 'unknown' : !v ? 'any tag' : v.tagged.length === 0 ? 'untagged only' : `${v.untagged ? 'untagged + ' : ''}tagged ${v.tagged.map((r) => (r.start === r.end ? r.start : `${r.start}-${r.end}`)).join(',')}`;
    return { port: c.dev, state: c.state, vlans, mac: c.record?.mac, ips: c.record?.ips, drops: Object.fromEntries(Object.entries(c.live?.drops ?? {}).filter(([, n]) => n > 0)) };
  });

export const renderGuards = (g: ShownGuard[]): string =>
  g.length === 0 ? '' : `\nvif guards\n${g.map((x) => {
    const drops = Object.entries(x.drops).map(([why, n]) => `${n} ${why}`).join('; ');
    return `  ${x.port}  ${x.state === 'ok' ? '' : `${x.state.toUpperCase()}  `}${x.vlans}${x.mac ? `, from ${x.mac}${x.ips ? ` ${x.ips.join(' ')}` : ''}` : ''}${drops ? `  dropped: ${drops}` : ''}`;
  }).join('\n')}\n`;
