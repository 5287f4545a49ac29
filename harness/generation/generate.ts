// Sequence `index` of a fuzz run: a tcx/netkit sequence (tcx-generator.ts) or, on a kernel with
// the cgroup mprog API, now and then a cgroup one (cgroup-generator.ts), and now and then a flow
// dissector one (flow-dissector-generator.ts); and the ids of a target's world that raw numbers
// are aimed at.

import type { KernelWorld } from '../../contract/world.js';
import { generateCgroupSequence } from './cgroup-generator.js';
import { generateFlowDissectorSequence } from './flow-dissector-generator.js';
import { Rng, sequenceSeed } from './rng.js';
import type { GenerateOptions, Generated } from './sequence-builder.js';
import { generateTcxSequence } from './tcx-generator.js';

export type { GenerateOptions, Generated } from './sequence-builder.js';

/** The share of cgroup sequences when the kernel has the cgroup mprog API, and the salt of the
 * stream that decides it. */
const CGROUP_SHARE = 0.3;
const CGROUP_SALT = 0x6367;
/** The share of flow dissector sequences (any kernel), and its salt. */
const FLOW_DISSECTOR_SHARE = 0.1;
const FLOW_DISSECTOR_SALT = 0x666c;

/** Sequence `index` of a run seeded with `seed`: the same arguments always give the same sequence. */
export function generateSequence(seed: number, index: number, opts: GenerateOptions): Generated {
  const name = `fuzz-${seed}-${index}`;
  const rng = new Rng(sequenceSeed(seed, index));
  // Decided on streams of their own, so that a seed's tcx sequences stay what they were.
  if (opts.flowDissector !== false && new Rng(sequenceSeed(seed, index) ^ FLOW_DISSECTOR_SALT).chance(FLOW_DISSECTOR_SHARE))
    return generateFlowDissectorSequence(rng, opts, name);
  if (opts.cgroups && new Rng(sequenceSeed(seed, index) ^ CGROUP_SALT).chance(CGROUP_SHARE)) return generateCgroupSequence(rng, opts, name);
  return generateTcxSequence(rng, opts, name);
}

/** The ids of a kernel's world worth aiming raw numbers at. */
export function idsOfWorld(world: KernelWorld): number[] {
  return [
    ...Object.values(world.progIds),
    ...Object.values(world.linkIds),
    ...world.progs.map((p) => p.id),
    ...world.links.map((l) => l.id),
    ...(world.nextLinkId ? [world.nextLinkId] : []),
  ];
}
