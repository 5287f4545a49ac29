// The `mprog` command.

import { setNoticeSink } from '../../vm/runtime/notices.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFORM_HELP, MERGE_HELP, runConformCommand, runMergeCommand } from './conform.js';
import { FUZZ_HELP, runFuzz } from './fuzz.js';
import { DIFF_HELP, runDiffCommand } from './diff.js';
import { EXIT_BUG, EXIT_STATUS, MprogError, UsageError } from '../../contract/errors.js';
import { bugText, errorText, printable } from '../errors.js';
import { repoRoot } from '../../vm/runtime/paths.js';
import { KERNEL_HELP, runKernel } from './kernel.js';
import { KERNELS_HELP, runKernels } from './kernels.js';
import { REPLAY_HELP, runReplay } from './replay.js';
import { COMPLETION_HELP, runCompletion } from './completion.js';

const USAGE = `usage: mprog <command> [options]       mprog <command> --help (or mprog help <command>): its options

commands:
  replay    replay mprog-seq/1 files on one target (emulator, host, qemu:KERNEL:ARCH)
  conform   replay a corpus on kernels and on the emulator and diff every step
  merge     join the output directories of conform's shards into one report
  fuzz      generate sequences, compare a target with the emulator, write reproducers
  kernels   list the kernels the harness can boot here, per arch, and which are usable
  kernel    kernel build SRC [--patch FILE]...: build a kernel to boot (prints its image path)
  diff      replay the corpus and generated sequences on two kernels and report what differs
  completion  completion bash: a bash completion script

  -V, --version  print mprog's version      -h, --help  print this
  --offline      (with any command) fetch nothing: what the cache lacks is an error naming it

environment:
  MPROG_OFFLINE=1           as --offline
  MPROG_CACHE=DIR           the cache (default: .cache in a git checkout of mprog, else
                            $XDG_CACHE_HOME/mprog or ~/.cache/mprog)
  MPROG_ACCEL=tcg|kvm       QEMU's accelerator (default: KVM if a probe boot succeeds, else TCG)
  MPROG_DEBIAN_MIRROR=URL   Debian's archive for kernels and guest userland (default deb.debian.org)
  MPROG_KERNEL_ORG=URL      kernel.org for kernel.org:X.Y sources; MPROG_KERNEL_ORG_KEYRING=FILE
                            checks their sums' signature with gpgv

exit status: 0 ok, 1 an expect failed or a divergence, 2 bad input or unusable target,
             3 a kernel crashed or hung (conform, merge), 70 a bug in mprog`;

/** package.json's version: the one place it is written. */
function version(): string {
  return (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** Each command: where it runs, and its help (kept beside the code that parses its options). */
const COMMANDS: Record<string, { run: (args: string[]) => Promise<number>; help: string }> = {
  replay: { run: runReplay, help: REPLAY_HELP },
  conform: { run: runConformCommand, help: CONFORM_HELP },
  merge: { run: runMergeCommand, help: MERGE_HELP },
  fuzz: { run: runFuzz, help: FUZZ_HELP },
  kernels: { run: runKernels, help: KERNELS_HELP },
  kernel: { run: runKernel, help: KERNEL_HELP },
  diff: { run: runDiffCommand, help: DIFF_HELP },
  completion: { run: (args) => runCompletion(args, helps()), help: COMPLETION_HELP },
};

/** Every command's help, by name: what the completion script is made from. */
function helps(): Record<string, string> {
  return Object.fromEntries(Object.entries(COMMANDS).map(([name, c]) => [name, c.help]));
}

/** A command's usage lines: its help up to the first blank line. */
function synopsis(help: string): string {
  return help.split('\n\n')[0]!;
}

/** `mprog help [COMMAND]`. */
function help(topic: string | undefined): number {
  if (topic === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, topic)) {
    process.stderr.write(`mprog help: unknown command "${printable(topic)}" (mprog --help lists them)\n`);
    return 2;
  }
  process.stdout.write(`${COMMANDS[topic]!.help}\n`);
  return 0;
}

export async function main(args: string[]): Promise<number> {
  // --offline, anywhere on the line, is every command's: no download (vm/runtime/network.ts).
  const argv = args.filter((a) => a !== '--offline');
  if (argv.length !== args.length) process.env['MPROG_OFFLINE'] = '1';
  const [command, ...rest] = argv;
  setNoticeSink((text) => process.stderr.write(`mprog: ${text}\n`));
  if (command === undefined || command === '-h' || command === '--help') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  if (command === 'help') return help(rest[0]);
  if (command === '--version' || command === '-V') {
    process.stdout.write(`mprog ${version()}\n`);
    return 0;
  }
  const cmd = Object.hasOwn(COMMANDS, command) ? COMMANDS[command]! : undefined;
  if (!cmd) {
    process.stderr.write(`mprog: unknown command "${printable(command)}" (mprog --help lists them)\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${cmd.help}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    // The one place an error becomes output and an exit status; anything else is a bug.
    if (!(err instanceof MprogError)) {
      process.stderr.write(bugText(err));
      return EXIT_BUG;
    }
    process.stderr.write(
      errorText(err, command) + (err instanceof UsageError ? `${synopsis(cmd.help)}\n(mprog ${command} --help: every option)\n` : ''),
    );
    return EXIT_STATUS[err.exitClass];
  }
}
