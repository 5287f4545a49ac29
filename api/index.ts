// mprog as a library: the public surface of `import … from 'mprog'`. Load a sequence of the
// mprog-seq/1 format (docs/mprog-seq.md), replay it on the emulator at a profile, in a fresh
// kernel or in a given world, and get its results in the format's result form. Everything else
// (the harness, the VM layer) is the command line's and may change without notice.

import { BadInput, MprogError } from '../contract/errors.js';
import { TargetError } from '../contract/target.js';
import type { Sequence, StepResult } from '../contract/seq.js';
import type { KernelWorld } from '../contract/world.js';
import { DEFAULT_PROFILE, PROFILES, profileForRelease } from '../emulator/profiles.js';
import { type ExpectFailure, checkExpects } from '../harness/replay/replay.js';
import { normalise } from '../harness/replay/normalise.js';
import { parseSequenceFile, parseSequenceText } from '../harness/sequences/parse.js';
import { EmulatorTarget } from '../harness/targets/emulator.js';

export type { Sequence, Step, StepResult } from '../contract/seq.js';
export type { KernelWorld } from '../contract/world.js';
export type { ExpectFailure } from '../harness/replay/replay.js';
export { BadInput, MprogError, TargetError };

/** A sequence from its JSON text; `file` names it in errors. Throws BadInput naming the JSON path. */
export function parseSequence(text: string, file = '<sequence>'): Sequence {
  return parseSequenceText(text, file);
}

/** A sequence from a file (a regular file, strict UTF-8). Throws BadInput naming the file and path. */
export function loadSequence(file: string): Sequence {
  return parseSequenceFile(file);
}

/** The emulator's profiles: each a range of kernel releases that answer alike (`to` null: open-ended). */
export function profiles(): { name: string; from: string; to: string | null }[] {
  return PROFILES.map((p) => ({ name: p.name, from: p.from, to: p.to }));
}

/** The profile the emulator uses for a kernel release ("6.12.117+deb13-cloud-amd64"), if any. */
export function profileFor(release: string): string | undefined {
  return profileForRelease(release)?.name;
}

export interface EmulateOptions {
  /** A profile name (profiles()); default: the emulator's default profile. */
  profile?: string;
  /** The kernel the sequence meets (ids, outside programs and links, ancestors); default: a fresh kernel. */
  world?: KernelWorld;
}

export interface Emulated {
  profile: string;
  /** One per step, in the format's result form (docs/mprog-seq.md, "Results"). */
  results: StepResult[];
  /** The steps whose `expect` did not hold. */
  failedExpects: ExpectFailure[];
}

/**
 * Replays `seq` on the emulator. Throws a TargetError for an unknown profile ('unusable') or a
 * sequence the profile's kernels cannot run ('unsupported': cgroup sequences before the cgroup
 * mprog API).
 */
export async function emulate(seq: Sequence, opts: EmulateOptions = {}): Promise<Emulated> {
  const target = new EmulatorTarget(opts.profile ?? DEFAULT_PROFILE);
  const results = normalise(seq, await target.run(seq, opts.world ? { world: opts.world } : {}));
  return { profile: target.profile.name, results, failedExpects: checkExpects(seq, results) };
}
