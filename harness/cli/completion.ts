// `mprog completion bash`: a bash completion script, made from the commands' own help texts (the
// flags each lists), the arches and the emulator profiles, so that it cannot fall behind them.

import { UsageError } from '../../contract/errors.js';
import { PROFILES } from '../../emulator/profiles.js';
import { ARCHES } from '../../vm/runtime/paths.js';

export const COMPLETION_HELP = `usage: mprog completion bash

Print a bash completion script for mprog: commands, each command's flags, and the values of
--arch, --target and --profile (file names otherwise).

  source <(mprog completion bash)                                     this shell
  mprog completion bash > ~/.local/share/bash-completion/completions/mprog   every new shell`;

/** The flags a help text lists as options (a line that starts with one, and its `short forms:` line), in order, once each. */
function flagsOf(help: string): string[] {
  const flags = help.split('\n').flatMap((line) => {
    if (line.startsWith('short forms:')) return [...line.matchAll(/(?<![\w-])-[a-zA-Z](?![\w-])/g)].map((m) => m[0]);
    const option = /^\s{2,}(?:-[a-zA-Z], )?(--[a-z][a-z-]*)/.exec(line);
    return option ? [option[1]!] : [];
  });
  return [...new Set(flags)];
}

/** A bash word list: the words are our own flags and names, none with a quote or a space. */
const words = (list: readonly string[]) => list.join(' ');

export function completionScript(commands: Record<string, string>): string {
  const cases = Object.entries(commands)
    .map(([name, help]) => `    ${name}) opts="${words(flagsOf(help))}" ;;`)
    .join('\n');
  const targets = ['emulator', ...PROFILES.map((p) => `emulator:${p.name}`), 'host', ...ARCHES.map((a) => `qemu:debian-6.12:${a}`)];
  return `# bash completion for mprog (mprog completion bash)
_mprog() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} opts=
  if [ "$COMP_CWORD" -eq 1 ]; then
    mapfile -t COMPREPLY < <(compgen -W "${words([...Object.keys(commands), 'help', '--help', '--version'])}" -- "$cur")
    return
  fi
  case $prev in
    --arch | -a) mapfile -t COMPREPLY < <(compgen -W "${words(ARCHES)}" -- "$cur"); return ;;
    --target | -t) mapfile -t COMPREPLY < <(compgen -W "${words(targets)}" -- "$cur"); return ;;
    --profile) mapfile -t COMPREPLY < <(compgen -W "${words(PROFILES.map((p) => p.name))}" -- "$cur"); return ;;
  esac
  case \${COMP_WORDS[1]} in
${cases}
    help) mapfile -t COMPREPLY < <(compgen -W "${words(Object.keys(commands))}" -- "$cur"); return ;;
  esac
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
  else
    COMPREPLY=()
  fi
}
complete -o default -F _mprog mprog
`;
}

export async function runCompletion(args: string[], commands: Record<string, string>): Promise<number> {
  if (args.length !== 1 || args[0] !== 'bash') throw new UsageError(`completion takes one shell, bash (got ${args.join(' ') || 'none'})`);
  process.stdout.write(completionScript(commands));
  return 0;
}
