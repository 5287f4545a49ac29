// Seeded choices on fast-check's PRNG: the same seed gives the same stream of numbers on every
// machine and Node version fast-check supports, which is what makes `--seed` reproducible.

import fc from 'fast-check';

const U32 = 0xffffffff;

export class Rng {
  private readonly stream: Iterator<number>;

  constructor(seed: number) {
    const [stream] = fc.sample(fc.infiniteStream(fc.noBias(fc.integer({ min: 0, max: U32 }))), { seed, numRuns: 1 });
    this.stream = stream![Symbol.iterator]();
  }

  u32(): number {
    return this.stream.next().value as number;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }

  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
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
