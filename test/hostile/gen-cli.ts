/** Bad command lines, generated: every command with bad namespace names, and bad values of every flag. */

export interface CliCase {
  category: string;
  args: string[];
}

export const BAD_NETNS = ['../../../../tmp/x', '../x', 'a/b', '', '.', '..', '-x', 'x'.repeat(65), 'xb-missing-ns-12', 'a b', '%d', 'a\nb', 'é', '/run/netns/x'];

/** Commands and the arguments that make them valid apart from the flag under test. */
const COMMANDS = (cfg: string): string[][] => [
  ['plan', '-c', cfg], ['apply', '-c', cfg], ['show'], ['verify', '-c', cfg], ['stop'], ['status'], ['rollback'], ['confirm'], ['try', '-c', cfg], ['names', '-c', cfg], ['repair-guards'],
];

export const cliCases = (cfg: string, netns: string): CliCase[] => {
  const ns = ['--netns', netns];
  const c = (category: string, ...args: string[]): CliCase => ({ category, args });
  return [
    // Every bad name with every command would be 140 node start-ups; each command takes five, in turn.
    ...COMMANDS(cfg).flatMap((cmd, i) => [0, 1, 2, 3, 4].map((k) => c('netns', ...cmd, '--netns', BAD_NETNS[(i * 5 + k) % BAD_NETNS.length]!))),
    ...COMMANDS(cfg).filter((_, i) => i % 3 === 0).map((cmd) => c('flags', ...cmd, ...ns, '--frobnicate')),
    ...['xml', '', 'JSON', 'text sh'].map((f) => c('flags', 'plan', '-c', cfg, ...ns, '--format', f)),
    ...['x', '', 'tree,json'].map((f) => c('flags', 'show', ...ns, '--format', f)),
    ...['-1', '0', '1e3', 'abc', '86401', '1.5', ' 5', '0x10', '+5', ''].map((s) => c('flags', 'apply', '-c', cfg, ...ns, '--confirm', s)),
    ...[['abc'], ['1', '2'], ['-5'], ['1e2']].map((s) => c('flags', 'try', '-c', cfg, ...ns, ...s)),
    ...['0', '5000', 'abc', '1e3', '10,x', '', '0x10'].map((v) => c('flags', 'verify', '-c', cfg, ...ns, '--traffic', '--vlan', v)),
    ...['br%d', '#br', '"q"', 'a/b', 'a'.repeat(16), 'all', 'if2', '-x', '', 'é'].map((v) => c('flags', 'verify', '-c', cfg, ...ns, '--traffic', '--vif', v)),
    ...['-1', 'abc', '1e9', '', '3601'].map((v) => c('flags', 'verify', '-c', cfg, ...ns, '--traffic', '--listen', v)),
    ...['../x', 'A', '', 'a'.repeat(13), 'x-y'].map((p) => c('flags', 'lab', '--prefix', p)),
    c('flags', 'lab', '--mode', 'x'),
    c('flags', 'names', '-c', cfg, ...ns, '--persist', 'bogus'),
    // Trees to write into that are none: empty (join('', '/etc') is the host's /etc), missing, a
    // file, the kernel's own (node's recursive mkdir loops there for ever).
    ...['', '/nonexistent-xb-root', cfg, '/proc/sys', '/sys/kernel'].flatMap((r) => [
      c('roots', 'names', '-c', cfg, ...ns, '--persist', 'udev', '--root', r),
      c('roots', 'install', '--root', r),
      c('roots', 'install-hook', '--root', r),
    ]),
    ...['', '/proc/sys/xb', `${cfg}/x`, cfg].map((d) => c('roots', 'verify', '-c', cfg, ...ns, '--traffic', '--pcap-dir', d)),
    c('flags', 'frobnicate'),
    c('flags', 'revert-timer', ...ns),
  ];
};
