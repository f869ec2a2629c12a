/** names (what each rule matches; --persist writes boot-time naming) and compat (migration matrix). */
import { XbError } from '../errors.js';
import { matchText, type RuleMatch } from '../names/match.js';
import { oneOf, runnerFor, topologyFor, type CommonOpts } from './context.js';
import type { Register } from './core-commands.js';
import { netnsOption } from './netns-arg.js';
import { err, json, out, tick } from './output.js';
import { checkTreeRoot } from '../exec/dirs.js';

const warn = (line: string): void => err(`xenbridge: warning: ${line}`);

const table = (rows: string[][]): string => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
};

const status = (m: RuleMatch): string => {
  if (m.problem !== undefined || !m.nic) return m.problem ?? '';
  const where = m.target === m.rule.name ? '' : ` (${m.rule.name} is dom0's interface on the bridge it uplinks)`;
  return `${m.nic.name === m.target ? 'named' : `apply renames it to ${m.target}`}${where}`;
};

const matchJson = (m: RuleMatch) => ({
  index: m.index, name: m.rule.name, match: matchText(m.rule.match), where: m.rule.where, target: m.target,
  nic: m.nic ? { name: m.nic.name, mac: m.nic.mac, permaddr: m.nic.permaddr, pci: m.nic.pci, driver: m.nic.driver } : null,
  ...(m.problem ? { problem: m.problem, candidates: m.candidates.map((l) => l.name) } : {}),
});

const showMatches = async (o: Record<string, unknown>): Promise<number> => {
  const [{ matchAll }, { readState }] = await Promise.all([import('../names/match.js'), import('../state/read.js')]);
  const t = await topologyFor(o as CommonOpts);
  const matches = matchAll(t, await readState(runnerFor(o as CommonOpts)));
  const ok = matches.every((m) => m.nic);
  if (o.json) json({ ok, rules: matches.map(matchJson) });
  else if (matches.length === 0) out(`no names rules in ${t.source}`);
  else {
    out(table([['RULE', 'MATCH', 'NIC', 'MAC', 'PCI', 'DRIVER', 'STATE'], ...matches.map((m) => [
      m.rule.name, matchText(m.rule.match), m.nic?.name ?? '-', m.nic ? m.nic.permaddr ?? m.nic.mac : '-', m.nic?.pci ?? '-', m.nic?.driver ?? '-', status(m),
    ])]));
  }
  return ok ? 0 : 65;
};

const persist = async (o: Record<string, unknown>): Promise<number> => {
  const [{ matchAll }, { readState }, { BACKENDS, kernelStyleWarnings, renderPersist }, { changesUnder, writeChanges }, { unifiedDiff }] = await Promise.all([
    import('../names/match.js'), import('../state/read.js'), import('../names/persist.js'), import('../names/persist-files.js'), import('../names/unified-diff.js'),
  ]);
  const backend = o.persist === true ? 'systemd' : oneOf(String(o.persist), BACKENDS, '--persist');
  const root = checkTreeRoot(String(o.root ?? '/'));
  const t = await topologyFor(o as CommonOpts);
  // Only driver + index needs the NICs present; mac, pci and ifname rules can be written for an image.
  const byDriver = t.names.some((r) => r.match.by === 'driver');
  const nics = byDriver ? matchAll(t, await readState(runnerFor(o as CommonOpts))).map((m) => m.nic) : [];
  const changes = changesUnder(root, renderPersist(backend, t.names, nics));
  const warnings = kernelStyleWarnings(t.names);
  for (const w of warnings) warn(w);
  if (!o.dryRun) writeChanges(root, changes);
  if (o.json) {
    json({
      backend, root, written: !o.dryRun && changes.length > 0, warnings,
      changes: changes.map((c) => ({ path: c.path, action: c.before === undefined ? 'create' : c.after === undefined ? 'remove' : 'update', diff: unifiedDiff(c.path, c.before, c.after) })),
    });
    return 0;
  }
  for (const c of changes) out(unifiedDiff(c.path, c.before, c.after));
  if (changes.length === 0) out(`no changes: the ${backend} naming files under ${root} already match ${t.source}`);
  else if (o.dryRun) out(`${changes.length} file(s) would change under ${root} (--dry-run: nothing written)`);
  else {
    out(`${changes.length} file(s) changed under ${root}: the names apply when the NICs appear at the next boot ("xenbridge apply" renames now)`);
    out('Debian copies .link files and udev rules into the initramfs: run "update-initramfs -u" so that it names the NICs the same way');
  }
  return 0;
};

export const registerNames = (reg: Register): void => {
  reg('names', (c) => c
    .description('what each names: rule matches now; --persist writes boot-time naming (systemd .link or udev rules)')
    .option('-c, --config <file>', 'topology file (default $XENBRIDGE_CONFIG or /etc/xenbridge/topology.yaml)')
    .option('--netns <name>', 'work inside this network namespace', netnsOption)
    .option('--persist [backend]', 'write the rules for boot: systemd (default) or udev')
    .option('--root <dir>', 'with --persist: write under this directory instead of /', '/')
    .option('--dry-run', 'with --persist: show the diff, write nothing')
    .option('--json', 'machine-readable output'), async (o) => (o.persist === undefined ? showMatches(o) : persist(o)));

  reg('compat', (c) => c
    .description('can a domU attached on one host migrate to another? A host x host matrix with the reasons')
    .usage('[--json] A.json B.json [C.json ...]   (each: "xenbridge show --format json" output, an Ansible --tree result of it, or a topology file)')
    .allowExcessArguments(true)
    .option('--json', 'machine-readable report'), async (o) => {
    const files = (o.args as string[] | undefined) ?? [];
    if (files.length < 2) throw new XbError('usage', `compat needs at least two hosts' files, got ${files.length}`, { detail: ['e.g. xenbridge compat hosts/*.json'] });
    const [{ checkFleet }, { readHost }, { renderMatrix }] = await Promise.all([import('../compat/check.js'), import('../compat/input.js'), import('../compat/render.js')]);
    const report = checkFleet(files.map(readHost));
    if (o.json) json(report);
    else out(renderMatrix(report, tick));
    return report.ok ? 0 : 1;
  });
};
