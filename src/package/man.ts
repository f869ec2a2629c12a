/** xenbridge(8) from the CLI's command tree and xenbridge-topology(5) from the README's file format section. */
import { EXIT_CODES, type ErrorKind } from '../errors.js';
import type { CliOption, CliTree } from './cli-tree.js';
import { esc, inline, markdownToRoff, readmeSection } from './roff.js';

export interface PageInfo {
  version: string;
  /** YYYY-MM-DD, from the source's last change: the same source gives the same page. */
  date: string;
}

const header = (name: string, section: number, p: PageInfo, title: string): string[] => [
  `.TH ${name.toUpperCase()} ${section} "${p.date}" "xenbridge ${p.version}" "${title}"`,
];

const options = (opts: CliOption[]): string[] => opts.flatMap((o) => ['.TP', `.B ${esc(o.term)}`, inline(o.description)]);

const EXIT_MEANING: Record<ErrorKind, string> = {
  usage: 'bad arguments or environment',
  config: 'the topology file is invalid; nothing was changed',
  state: 'the host is in a state xenbridge cannot plan from',
  command: 'a kernel operation failed',
  verify: 'live state or traffic does not match the file',
  'rolled-back': 'apply failed and the host was restored',
  'rollback-failed': 'a rollback could not undo everything',
  lock: 'another xenbridge held the lock too long',
  xenstore: 'xenstore could not be read or written',
  bug: 'an unexpected error',
};

const exitStatus = (): string[] => {
  const byCode = new Map<number, string[]>();
  for (const [kind, code] of Object.entries(EXIT_CODES)) byCode.set(code, [...(byCode.get(code) ?? []), EXIT_MEANING[kind as ErrorKind]]);
  return [
    '.SH EXIT STATUS', '.TP', '.B 0', 'success.',
    ...[...byCode.entries()].sort((a, b) => a[0] - b[0]).flatMap(([code, what]) => ['.TP', `.B ${code}`, `${esc(what.join('; '))}.`]),
    '.PP', esc('The vif hook (xenbridge vif) exits 1 on every error, as xl expects of a vif script.'),
  ];
};

export const manPage8 = (tree: CliTree, p: PageInfo): string => [
  ...header('xenbridge', 8, p, 'System Administration'),
  '.SH NAME', `xenbridge \\- ${esc(tree.description.replace(/^./, (c) => c.toLowerCase()))}`,
  '.SH SYNOPSIS', `.B ${tree.name}`, '.I command', '.RI [ options ]',
  '.SH DESCRIPTION',
  esc('xenbridge configures the network of a Xen dom0 from one declarative file, /etc/xenbridge/topology.yaml (see xenbridge-topology(5)): bridges, the dom0 veth pair, VLAN interfaces and bridges, stable interface names. It applies the file to the live kernel in one transaction with exact rollback, attaches guests through the vif hotplug script vif-xenbridge, and proves the result with real packet capture.'),
  '.SH OPTIONS', ...options(tree.options),
  '.SH COMMANDS',
  ...tree.commands.flatMap((c) => [`.SS ${esc(c.name)}`, `.B ${esc(c.usage)}`, '.PP', inline(c.description), ...options(c.options)]),
  ...exitStatus(),
  '.SH ENVIRONMENT',
  '.TP', '.B XENBRIDGE_CONFIG', esc('the topology file when -c is not given.'),
  '.TP', '.B XENBRIDGE_XENSTORE_TIMEOUT', esc('seconds the vif hook waits for each xenstore call (default 10).'),
  '.SH FILES',
  '.TP', '.B /etc/xenbridge/topology.yaml', esc('the topology, applied at boot by xenbridge.service.'),
  '.TP', '.B /etc/xen/scripts/vif-xenbridge', esc('the vif hotplug script: script=vif-xenbridge in a vif spec, or vif.default.script in xl.conf.'),
  '.TP', '.B /var/log/xen/xen-hotplug.log', esc('one line per vif event, also sent to syslog (facility daemon, tag vif-xenbridge).'),
  '.SH SEE ALSO', '.BR xenbridge\\-topology (5),', '.BR xl (1),', '.BR xl.conf (5),', '.BR xl\\-network\\-configuration (5),', '.BR ip (8)',
].join('\n') + '\n';

export const manPage5 = (readme: string, p: PageInfo): string => [
  ...header('xenbridge-topology', 5, p, 'File Formats'),
  '.SH NAME', 'xenbridge\\-topology \\- the network of a Xen dom0, as xenbridge applies it',
  '.SH SYNOPSIS', '.B /etc/xenbridge/topology.yaml',
  '.SH DESCRIPTION',
].join('\n') + '\n' + markdownToRoff(readmeSection(readme, 'The topology file'))
  + ['.SH SEE ALSO', '.BR xenbridge (8)', ''].join('\n');
