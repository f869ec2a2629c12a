/** The compat report as a host x host matrix (rows: where the domU runs, columns: where it goes), then the reasons. */
import type { CompatReport } from './check.js';

export const renderMatrix = (r: CompatReport, mark: (ok: boolean) => string): string => {
  const head = 'from \\ to';
  const rows = [[head, ...r.hosts], ...r.hosts.map((from) => [from, ...r.hosts.map((to) => {
    const p = r.pairs.find((x) => x.from === from && x.to === to);
    return p ? mark(p.ok) : '-';
  })])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => [...(row[i] ?? '')].length)));
  const pad = (cell: string, w: number): string => cell + ' '.repeat(w - [...cell].length);
  const lines = rows.map((row) => row.map((c, i) => pad(c, widths[i]!)).join('  ').trimEnd());
  const failed = r.pairs.filter((p) => !p.ok);
  const reasons = failed.flatMap((p) => ['', `${p.from} -> ${p.to}:`, ...p.reasons.map((x) => `  ${x}`)]);
  const verdict = failed.length === 0 ? 'every host can take every other host\'s domUs' : `${failed.length} of ${r.pairs.length} directions cannot migrate`;
  return [...lines, ...reasons, '', verdict, ''].join('\n');
};
