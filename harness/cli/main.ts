// The `mprog` command.

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { runReplay } from './replay.js';

const USAGE = `usage: mprog <command> [options]

commands:
  replay --target TARGET [--json] FILE...   replay mprog-seq/1 files on one target
                                            TARGET: emulator[:PROFILE], host, qemu:KERNEL:ARCH

exit status: 0 ok, 1 an expect failed, 2 bad input or unusable target`;

/** A usage mistake: reported with the usage text, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'replay':
        return await runReplay(rest);
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
