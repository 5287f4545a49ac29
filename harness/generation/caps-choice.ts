// The caller-privileges dimension of generated sequences (spec "Caller privileges"): now and
// then a whole sequence runs as a caller with a capability set of its own (its loads then meet
// bpf_prog_load()'s checks), and now and then a single step does (attach, detach without a
// program fd, query, link ops, device changes). The sets are those the kernel's checks tell
// apart: nothing, CAP_BPF alone, CAP_NET_ADMIN alone, CAP_SYS_ADMIN alone (which stands in for
// both), CAP_BPF with CAP_NET_ADMIN, and ones that do not count here (CAP_PERFMON, CAP_NET_RAW).
// Drawn from a stream of their own (capsRng), so that every other choice of a sequence is drawn
// as it was before.

import type { Step } from '../../contract/seq.js';
import type { CapabilityName } from '../../uapi/capability.js';
import { type Rng, nameStream } from './rng.js';

/** How often a step carries caps of its own; how often a whole sequence does. */
const STEP_SHARE = 0.06;
const SEQUENCE_SHARE = 0.04;

const SETS: readonly (readonly [readonly CapabilityName[], number])[] = [
  [[], 3],
  [['CAP_BPF'], 4],
  [['CAP_NET_ADMIN'], 3],
  [['CAP_SYS_ADMIN'], 2],
  [['CAP_BPF', 'CAP_NET_ADMIN'], 2],
  [['CAP_BPF', 'CAP_PERFMON', 'CAP_NET_RAW'], 1],
];

/** The caps stream of a sequence, from its name. */
export function capsRng(name: string): Rng {
  return nameStream(name, 0x6b43a9b5);
}

function drawSet(rng: Rng): CapabilityName[] {
  const i = rng.weighted(SETS.map(([, w], n) => [n, w] as const));
  return [...SETS[i]![0]];
}

/** With chance SEQUENCE_SHARE, the capabilities of a whole sequence's caller; else none (root). */
export function sequenceCaps(rng: Rng): CapabilityName[] | undefined {
  return rng.chance(SEQUENCE_SHARE) ? drawSet(rng) : undefined;
}

/** With chance STEP_SHARE, gives a step a caller of its own (in place). */
export function withCaps(rng: Rng, step: Step): void {
  if (step.caps !== undefined || !rng.chance(STEP_SHARE)) return;
  step.caps = drawSet(rng);
}
