// Replaying sequences on one target: results in the normalised form, and every `expect` checked.

import { expectMismatches } from './expect.js';
import { normalise } from './normalise.js';
import type { Sequence, StepResult } from '../../contract/seq.js';
import type { KernelWorld } from '../../contract/world.js';
import type { RunOptions, Target } from '../../contract/target.js';

export interface ExpectFailure {
  step: number;
  op: string;
  mismatches: string[];
}

export interface ReplayReport {
  name: string;
  file: string;
  target: string;
  kernel: string;
  results: StepResult[];
}

export interface Replayed {
  report: ReplayReport;
  expectFailures: ExpectFailure[];
  /** The kernel's world, for the emulator compared with it. */
  world: KernelWorld | undefined;
}

export function checkExpects(seq: Sequence, results: StepResult[]): ExpectFailure[] {
  const failures: ExpectFailure[] = [];
  seq.expects.forEach((expect, i) => {
    if (!expect) return;
    const mismatches = expectMismatches(expect, results[i]!);
    if (mismatches.length) failures.push({ step: i, op: seq.steps[i]!.op, mismatches });
  });
  return failures;
}

export async function replaySequence(target: Target, seq: Sequence, opts: RunOptions = {}): Promise<Replayed> {
  const raw = await target.run(seq, opts);
  const results = normalise(seq, raw);
  return {
    report: { name: seq.name, file: seq.file, target: target.spec, kernel: raw.kernel, results },
    expectFailures: checkExpects(seq, results),
    world: raw.world,
  };
}

export function formatExpectFailures(seq: Sequence, target: string, failures: ExpectFailure[]): string {
  return failures.map((f) => `${seq.file}: ${target}: step ${f.step} (${f.op}): ${f.mismatches.join('; ')}`).join('\n');
}
