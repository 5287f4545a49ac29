// The `mprog` command.

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { PROFILES, type Profile, findProfile } from '../../emulator/profiles.js';
import { runConformCommand, runMergeCommand } from '../conform/cli.js';
import { runFuzz } from '../fuzz/cli.js';
import { TargetError } from '../targets/target.js';
import { runReplay } from './replay.js';

const USAGE = `usage: mprog <command> [options]

commands:
  replay --target TARGET [--json] [--modules DIR] FILE...
                                            replay mprog-seq/1 files on one target
                                            TARGET: emulator[:PROFILE], host, qemu:KERNEL:ARCH
                                            (KERNEL: debian-X.Y, mprog-X.Y = built here from
                                            Debian's linux-source-X.Y, or a kernel image;
                                            --modules: that image's modules directory)
  fuzz --target TARGET [--seed S] [--sequences N] [--max-steps M] [--time T] [--out DIR] [--profile P]
                                            generate sequences, compare TARGET with the emulator,
                                            shrink a divergence and write reproducers to DIR
  conform [--kernel K,...] [--arch A,...] [--host] [--profile P] [--out DIR]
          [--jobs N] [--shard I/N] [--resume] [--modules DIR] [CORPUS...]
                                            replay a corpus on kernels and on the emulator
                                            (profile from each kernel's release unless --profile),
                                            diff every step; K: debian-X.Y, mprog-X.Y or a kernel image,
                                            A: x86_64, arm64 (default: debian-6.12 on x86_64;
                                            --host alone runs only this machine's kernel);
                                            CORPUS: files or dirs (default: test/sequences, corpus);
                                            writes results.jsonl, junit.xml, results.tap,
                                            summary.md to DIR (default: out/conform)
  merge DIR... [--out DIR]                  join the output dirs of shards into one report

exit status: 0 ok, 1 an expect failed or a divergence, 2 bad input or unusable target,
             3 a kernel crashed or hung (conform, merge)`;

/**
 * Says on stderr why `spec` could not answer: the message (prefixed with the target unless it
 * names it already) and, for a guest, the tail of its console.
 */
export function reportTargetError(spec: string, err: Error): void {
  const where = err.message.startsWith(`${spec}:`) ? '' : `${spec}: `;
  const console = err instanceof TargetError && err.console ? `--- console (tail) ---\n${err.console}\n` : '';
  process.stderr.write(`mprog: ${where}${err.message}\n${console}`);
}

/** A usage mistake: reported with the usage text, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
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

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'replay':
        return await runReplay(rest);
      case 'fuzz':
        return await runFuzz(rest);
      case 'conform':
        return await runConformCommand(rest);
      case 'merge':
        return await runMergeCommand(rest);
      case undefined:
      case '-h':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        return command ? 0 : 2;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`mprog: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
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
