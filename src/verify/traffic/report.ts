/** The traffic verify for a person (a table per path, diagnosis lines) and for a program (--json). */
import { floodOf, tagText } from './observe.js';
import { NOBODY } from './targets.js';
import type { ListenReport } from './listen.js';
import type { TrafficReport } from './traffic.js';
import type { CheckResult, Direction, HopResult, PathResult, ProbeKind } from './types.js';

type Tick = (ok: boolean) => string;

const table = (rows: string[][]): string[] => {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length))) ?? [];
  return rows.map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat((widths[i] ?? 0) - [...c].length))).join('   ')}`.trimEnd());
};

const find = (h: HopResult, probe: ProbeKind, dir: Direction): CheckResult | undefined => h.checks.find((c) => c.probe === probe && c.dir === dir);

const cell = (r: CheckResult | undefined, tick: Tick): string => {
  if (!r) return '-';
  if (r.ok) return tick(true);
  if (r.why === 'no-capture') return '?';
  return r.why === 'wrong-tag' ? `${tick(false)} ${r.seen.tags.map(tagText).join(',')}` : tick(false);
};

/** The probe's name where it is not the path's own (the DF echo, or ping's ARP when the echo never left). */
const probeWord = (p: PathResult, probe: ProbeKind): string => {
  if (probe === 'df') return p.spec.family === 6 ? 'full-size ' : 'DF ';
  return probe === p.spec.primary ? '' : `${{ arp: 'ARP', nd: 'NS/NA', mcast: 'all-nodes echo', echo: 'ECHO', df: '' }[probe]} `;
};

const verdict = (p: PathResult, h: HopResult, tick: Tick): string => {
  if (h.ok) return tick(true);
  const f = p.failures.find((x) => x.hop === h.hop.dev);
  if (h.captureError && (!f || f.why === 'no-capture')) return `${tick(false)} no capture: ${h.captureError}`;
  if (!f) return tick(false);
  return `${tick(false)} ${probeWord(p, f.probe)}${f.dir} ${f.why === 'wrong-tag' ? 'has the wrong tag' : 'vanishes'} here`;
};

const headline = (p: PathResult, from?: string): string => {
  const s = p.spec;
  if (s.guest) {
    const how = s.vid === null || !s.hops[0] || s.hops[0].tag === null ? 'untagged' : `tagged ${s.vid}`;
    return `${s.id}: ARP who-has ${s.target} (${from ?? '?'}) from probe port ${s.guest.port}, sent ${how} as a guest would`;
  }
  if (s.family === 6) return `${s.id}: ping -6 ${s.target} from ${s.source} via ${s.origin}${s.dfSize ? `; full-size ${s.dfSize} bytes, unfragmented (-M do)` : ''}`;
  const probe = s.primary === 'echo' ? `ping ${s.target} from ${s.source}`
    : s.target === NOBODY ? `ARP who-has ${s.target} (nothing known answers here: a broadcast the uplink must carry)` : `ARP who-has ${s.target} (dom0 has no address here)`;
  return `${s.id}: ${probe} via ${s.origin}${s.dfSize ? `; DF ${s.dfSize} bytes` : ''}`;
};

export const renderPath = (p: PathResult, tick: Tick, from?: string): string[] => {
  const primary = p.spec.primary;
  const df = p.spec.dfSize !== undefined;
  const rows = [['hop', 'expected', 'request', 'reply', ...(df ? [`df ${p.spec.dfSize}`] : []), 'verdict']];
  for (const h of p.hops) {
    const vif = h.hop.role === 'vif';
    const dfCell = `${cell(find(h, 'df', 'request'), tick)}/${cell(find(h, 'df', 'reply'), tick)}`;
    rows.push([
      `${h.hop.dev}${vif ? ' (vif)' : h.hop.role === 'probe' ? ' (probe)' : ''}`, tagText(h.hop.tag),
      vif ? `${cell(find(h, floodOf(p.spec), 'request'), tick)} ${floodOf(p.spec)}` : cell(find(h, primary, 'request'), tick),
      vif ? (find(h, 'mcast', 'reply') ? `${cell(find(h, 'mcast', 'reply'), tick)} mcast` : '-') : cell(find(h, primary, 'reply'), tick),
      ...(df ? [vif ? '-' : dfCell] : []), verdict(p, h, tick),
    ]);
  }
  const v = p.vanished;
  const summary = v
    ? `${tick(false)} ${p.spec.id}: ${v.probe === 'df' ? `the ${p.spec.dfSize}-byte ${p.spec.family === 6 ? 'full-size' : 'DF'} ` : probeWord(p, v.probe)}${v.dir} vanishes at ${v.hop}${v.after ? ` after ${v.after}` : ''}`
    : `${tick(true)} ${p.spec.id}: every hop saw its frames`;
  const diag = p.diagnoses.flatMap((d) => [`  diagnosis [${d.rule}]: ${d.message}`, ...d.evidence.map((e) => `    evidence: ${e}`), `    fix: ${d.fix}`]);
  return [headline(p, from), ...table(rows), ...p.spec.problems.map((x) => `  note: ${x}`), summary, ...diag];
};

const renderFindings = (r: TrafficReport, tick: Tick): string[] => r.findings.flatMap((f) => [
  `${f.level === 'error' ? tick(false) : 'warning'} layout [${f.rule}]: ${f.message}`, ...f.evidence.map((e) => `    evidence: ${e}`), `    fix: ${f.fix}`,
]);

export const renderTraffic = (r: TrafficReport, tick: Tick): string[] => {
  const from = new Map(r.targets.map((x) => [x.id, x.from]));
  const out = r.paths.flatMap((p) => [...renderPath(p, tick, from.get(p.spec.id)), '']);
  for (const s of r.skipped) out.push(`- ${s.id}: not probed: ${s.reason}`);
  for (const x of r.vifs) if (x.note) out.push(`note: ${x.vif}: ${x.note}`);
  for (const n of r.notes) out.push(`note: ${n}`);
  out.push(...renderFindings(r, tick));
  const failed = r.paths.filter((p) => !p.ok).length;
  const errors = r.findings.filter((f) => f.level === 'error').length;
  out.push(`${tick(r.ok)} ${r.paths.length - failed} of ${r.paths.length} paths pass${errors > 0 ? `; ${errors} layout error(s)` : ''} (${(r.elapsedMs / 1000).toFixed(1)} s)`);
  if (r.pcapDir) out.push(`captures kept in ${r.pcapDir} (one pcap per interface)`);
  return out;
};

const checkJson = (r: CheckResult | undefined): object | null => (r ? { ok: r.ok, seen: r.seen.count, tags: r.seen.tags, ...(r.why ? { why: r.why } : {}) } : null);

/** --json: tags are VLAN IDs, null meaning untagged. */
export const trafficJson = (r: TrafficReport): object => ({
  ok: r.ok,
  elapsedMs: r.elapsedMs,
  pcapDir: r.pcapDir ?? null,
  paths: r.paths.map((p) => ({
    id: p.spec.id, family: p.spec.family ?? 4, bridge: p.spec.bridge, mode: p.spec.mode, vid: p.spec.vid, target: p.spec.target, source: p.spec.source ?? null,
    origin: p.spec.origin, probe: p.spec.primary, dfSize: p.spec.dfSize ?? null, ok: p.ok, vanished: p.vanished ?? null,
    hops: p.hops.map((h) => ({
      dev: h.hop.dev, role: h.hop.role, master: h.hop.master ?? null, expected: h.hop.tag, captureError: h.captureError ?? null, ok: h.ok,
      request: checkJson(find(h, h.hop.role === 'vif' ? floodOf(p.spec) : p.spec.primary, 'request')),
      reply: checkJson(find(h, h.hop.role === 'vif' ? 'mcast' : p.spec.primary, 'reply')),
      df: p.spec.dfSize === undefined || h.hop.role === 'vif' ? null : { request: checkJson(find(h, 'df', 'request')), reply: checkJson(find(h, 'df', 'reply')) },
    })),
    guest: p.spec.guest ?? null,
    problems: p.spec.problems,
    probes: p.probes,
    diagnoses: p.diagnoses,
  })),
  skipped: r.skipped,
  vifs: r.vifs,
  findings: r.findings,
  targets: r.targets,
  notes: r.notes,
});

export const renderListen = (r: ListenReport, tick: Tick): string[] => {
  const keys = [...new Set(r.hops.flatMap((h) => Object.keys(h.frames)))].sort((a, b) => (a === 'untagged' ? -1 : b === 'untagged' ? 1 : Number(a) - Number(b)));
  const rows = [['hop', 'role', ...keys.map((k) => (k === 'untagged' ? k : `vlan ${k}`))]];
  for (const h of r.hops) rows.push([h.dev, h.role, ...(h.error ? [`no capture: ${h.error}`] : keys.map((k) => String(h.frames[k] ?? 0)))]);
  return [
    `listened ${r.seconds} s on ${r.hops.length} interfaces (frames per VLAN)`, ...table(rows),
    ...r.flags.map((f) => `${tick(false)} ${f.message}`),
    r.ok ? `${tick(true)} every VLAN seen on the uplink reached a port expecting it` : `${tick(false)} ${r.flags.length} VLAN problem(s)`,
    ...(r.pcapDir ? [`captures kept in ${r.pcapDir}`] : []),
  ];
};
