// What the tcx and the cgroup generators decide alike: which command comes next.

import type { Rng } from './rng.js';

/** The next command, drawn by weight; `weight` adjusts each base weight to the state (0: not now). */
export function drawOp<K>(rng: Rng, ops: readonly (readonly [K, number])[], weight: (kind: K, base: number) => number): K {
  return rng.weighted(ops.map(([kind, w]) => [kind, weight(kind, w)] as const).filter(([, w]) => w > 0));
}

/** A command on a link: never without one, mostly while one is open. */
export function linkOpWeight(links: number, openLinks: number, base: number): number {
  if (links === 0) return 0;
  return openLinks > 0 ? base * 2 : Math.ceil(base / 4);
}
