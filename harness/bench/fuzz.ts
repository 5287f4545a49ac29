// `npm run bench`'s fuzz_sequences_per_s: how many generated 20-step sequences per second one
// target and the in-process emulator answer together (generation and comparison included).

import type { Target } from '../../contract/target.js';
import { generateSequence } from '../generation/generate.js';
import { answers, chooseProfile, targetHasNetkit } from '../replay/compare.js';

const BENCH_STEPS = 20;
const BENCH_SEED = 20251124;

/** Generated 20-step sequences per second on `target` (and the emulator), measured for `seconds`. */
export async function fuzzSequencesPerSecond(target: Target, seconds: number): Promise<number> {
  const profile = await chooseProfile(target, undefined);
  const opts = { profile, maxSteps: BENCH_STEPS, fixedLength: true, netkit: await targetHasNetkit(target, profile), bulk: false };
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let done = 0;
  for await (const { answer } of answers(
    target,
    profile,
    (i) => generateSequence(BENCH_SEED, i, opts),
    () => performance.now() < deadline,
  )) {
    if (answer instanceof Error) throw answer;
    done++;
  }
  return done / ((performance.now() - start) / 1000);
}
