// The `mprog` command.

import { setNoticeSink } from '../../vm/notices.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { PROFILES, type Profile, findProfile } from '../../emulator/profiles.js';
import { CONFORM_HELP, MERGE_HELP, runConformCommand, runMergeCommand } from '../conform/cli.js';
import { FUZZ_HELP, runFuzz } from '../fuzz/cli.js';
import { DIFF_HELP, runDiffCommand } from '../kernel-diff/cli.js';
import { EXIT_STATUS, MprogError, UsageError, errorText } from '../errors.js';

import { repoRoot } from '../../vm/paths.js';
import { KERNEL_HELP, runKernel } from './kernel.js';
import { KERNELS_HELP, runKernels } from './kernels.js';
import { REPLAY_HELP, runReplay } from './replay.js';

const USAGE = `usage: mprog <command> [options]       mprog <command> --help: its options

commands:
  replay    replay mprog-seq/1 files on one target (emulator, host, qemu:KERNEL:ARCH)
  conform   replay a corpus on kernels and on the emulator and diff every step
  merge     join the output directories of conform's shards into one report
  fuzz      generate sequences, compare a target with the emulator, write reproducers
  kernels   list the kernels the harness can boot here, per arch, and which are usable
  kernel    kernel build SRC [--patch FILE]...: build a kernel to boot (prints its image path)
  diff      replay the corpus and generated sequences on two kernels and report what differs

  --version  print mprog's version      --help  print this

exit status: 0 ok, 1 an expect failed or a divergence, 2 bad input or unusable target,
             3 a kernel crashed or hung (conform, merge)`;


/** package.json's version: the one place it is written. */
function version(): string {
  return (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** An integer option of at least `min`, or undefined when not given. */
export function integerOption(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
    throw new UsageError(`${flag} ${value}: expected an integer of at least ${min}`);
  }
  return Number(value);
}

/** --profile NAME: an emulator profile, or undefined when not given. */
export function profileOption(name: string | undefined): Profile | undefined {
  if (name === undefined) return undefined;
  const profile = findProfile(name);
  if (!profile) throw new UsageError(`--profile ${name}: unknown emulator profile (known: ${PROFILES.map((p) => p.name).join(', ')})`);
  return profile;
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
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  setNoticeSink((text) => process.stderr.write(`mprog: ${text}\n`));
  if (command === undefined || command === '-h' || command === '--help') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  if (command === '--version') {
    process.stdout.write(`mprog ${version()}\n`);
    return 0;
  }
  const cmd = Object.hasOwn(COMMANDS, command) ? COMMANDS[command]! : undefined;
  if (!cmd) {
    process.stderr.write(`mprog: unknown command "${command}"\n${USAGE}\n`);
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
    if (!(err instanceof MprogError)) throw err;
    process.stderr.write(errorText(err, command) + (err instanceof UsageError ? `${cmd.help}\n` : ''));
    return EXIT_STATUS[err.exitClass];
  }
}

/** parseArgs() with usage errors as UsageError. */
export function parseOptions<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true as const, strict: true as const });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
