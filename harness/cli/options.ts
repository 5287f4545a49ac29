// What every command's option parsing shares: node's parseArgs with its mistakes as usage
// errors, and the value forms more than one command takes (integers, --profile).

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { PROFILES, type Profile, findProfile } from '../../emulator/profiles.js';
import { UsageError } from '../../contract/errors.js';
import { ARCH_NAMES, type Arch, archNamed } from '../../vm/runtime/paths.js';

/** parseArgs() with usage errors as UsageError. */
export function parseOptions<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true as const, strict: true as const });
  } catch (err) {
    // "Unknown option '-t'. To specify a positional argument starting with a '-', place it at
    // the end of the command after '--', as in '-- "-t"": the first sentence says it.
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
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

/** An --arch value (aliases taken: aarch64, amd64). */
export function archOption(value: string): Arch {
  const arch = archNamed(value);
  if (!arch) throw new UsageError(`--arch ${value}: unknown architecture (known: ${ARCH_NAMES})`);
  return arch;
}
