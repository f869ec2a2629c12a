/** bash completion for xenbridge, from the CLI's command tree: every command and flag the parser accepts. */
import type { CliTree } from './cli-tree.js';

const words = (xs: string[]): string => xs.join(' ');

export const bashCompletion = (tree: CliTree): string => {
  const valued = (kind: 'path' | 'other'): string[] =>
    [...new Set([...tree.options, ...tree.commands.flatMap((c) => c.options)].filter((o) => o.value === kind).flatMap((o) => o.flags))].sort();
  const cases = tree.commands.map((c) => `        ${c.name}) opts="${words(c.options.flatMap((o) => o.flags))}" ;;`);
  return `# bash completion for xenbridge(8). Generated from its command tree: do not edit.
_xenbridge() {
    local cur prev cmd opts i
    cur=\${COMP_WORDS[COMP_CWORD]}
    prev=\${COMP_WORDS[COMP_CWORD-1]}
    case $prev in
        ${valued('path').join('|')}) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
        ${valued('other').join('|')}) return ;;
    esac
    cmd=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case \${COMP_WORDS[i]} in -*) ;; *) cmd=\${COMP_WORDS[i]}; break ;; esac
    done
    case $cmd in
        '') COMPREPLY=( $(compgen -W "${words([...tree.commands.map((c) => c.name), ...tree.options.flatMap((o) => o.flags)])}" -- "$cur") ); return ;;
${cases.join('\n')}
        *) opts= ;;
    esac
    if [[ $cur == -* ]]; then COMPREPLY=( $(compgen -W "$opts" -- "$cur") ); else COMPREPLY=( $(compgen -f -- "$cur") ); fi
}
complete -F _xenbridge xenbridge
`;
};
