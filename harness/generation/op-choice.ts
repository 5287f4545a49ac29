// What the tcx, cgroup and flow dissector generators decide alike: which command comes next, a query's count.

import { KMALLOC_MAX_SIZE } from '../../emulator/core.js';
import type { Rng } from './rng.js';

/** The most query entries one kmalloc() holds: the netns query allocates all it is asked for. */
const KMALLOC_ENTRIES = KMALLOC_MAX_SIZE / 4;

/** The next command, drawn by weight; `weight` adjusts each base weight to the state (0: not now). */
export function drawOp<K>(rng: Rng, ops: readonly (readonly [K, number])[], weight: (kind: K, base: number) => number): K {
  return rng.weighted(ops.map(([kind, w]) => [kind, weight(kind, w)] as const).filter(([, w]) => w > 0));
}

/** A command on a link: never without one, mostly while one is open. */
export function linkOpWeight(links: number, openLinks: number, base: number): number {
  if (links === 0) return 0;
  return openLinks > 0 ? base * 2 : Math.ceil(base / 4);
}

/** A query's count: mostly 64 (every entry), sometimes none or fewer than attached, now and then
 * the most the netns query's buffer can be, one more (ENOMEM), or the largest count there is. */
export function queryCount(rng: Rng): number {
  return rng.weighted([
    [64, 70],
    [0, 8],
    [1, 8],
    [2, 6],
    [3, 4],
    [KMALLOC_ENTRIES, 1],
    [KMALLOC_ENTRIES + 1, 1],
    [0xffffffff, 1],
  ]);
}
