// Seeded choices on pure-rand (the generator library fast-check is built on): xoroshiro128+
// seeded with `--seed`, and pure-rand's uniform distribution for every integer in a range (no
// modulo bias). The same seed gives the same stream on every machine and Node version, which is
// what makes `--seed` reproducible.

import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

const U32 = 0xffffffff;

export class Rng {
  private readonly gen: RandomGenerator;

  constructor(seed: number) {
    this.gen = xoroshiro128plus(seed);
  }

  u32(): number {
    return uniformInt(this.gen, 0, U32);
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : uniformInt(this.gen, 0, n - 1);
  }

  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return hi <= lo ? lo : uniformInt(this.gen, lo, hi);
  }

  chance(p: number): boolean {
    return this.u32() / (U32 + 1) < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick from an empty list');
    return items[this.below(items.length)]!;
  }

  /** One of `choices`, each as likely as its weight. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    const total = choices.reduce((sum, [, w]) => sum + w, 0);
    let r = this.below(total);
    for (const [value, w] of choices) {
      if (r < w) return value;
      r -= w;
    }
    return choices[choices.length - 1]![0];
  }
}

/** The seed of sequence `index` of a run seeded with `seed`: sequences can be regenerated one by one. */
export function sequenceSeed(seed: number, index: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x27d4eb2f);
  return (h ^ (h >>> 15)) | 0;
}

/** A stream of a dimension's own for the sequence `name` (`salt` tells the dimensions apart), so
 * that adding its draws leaves every other choice of the sequence as it was. */
export function nameStream(name: string, salt: number): Rng {
  let h = salt;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  const rng = new Rng(h | 0);
  // xoroshiro128+'s first outputs from a 32-bit seed hardly depend on it (the first is the same
  // for every seed): they are let go, or the first draw would be the same for every name.
  for (let i = 0; i < 8; i++) rng.u32();
  return rng;
}
