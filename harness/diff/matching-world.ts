// Two kernels brought to the same world before a sequence runs on both: the same ids for the
// objects it makes. Kernel ids come from cyclic idrs (idr_alloc_cyclic in bpf_prog_alloc_id and
// bpf_link_prime), so once the kernels have answered any call differently (a link_create that
// fails on one only still spends an id: bpf_link_cleanup after bpf_link_prime), each hands out
// other ids, and a step that passes an id where an fd is read, or a raw number, meets other
// objects on each. Ids cannot be handed back, so the kernel behind spends ids until both next
// ones agree: sequences of throwaway programs and failing link_creates, checked by a probe.

import type { Sequence } from '../../contract/seq.js';
import type { Target } from '../../contract/target.js';
import { parseSequenceText } from '../sequences/parse.js';
import { onSide } from './kernel-fault.js';

/** The ids a kernel hands out next. */
export interface NextIds {
  prog: number;
  link: number;
}

/** A sequence of mprog's own (not the user's), made from its JSON. */
function ownSequence(name: string, body: object): Sequence {
  return parseSequenceText(JSON.stringify({ format: 'mprog-seq/1', name, ...body }), `<mprog ${name}>`);
}

/**
 * One program and no step: its id is the next program id, and the agent's own probe of the
 * next link id (a flow dissector link made and closed before the steps) is in the world. Both
 * are spent by it, as by every sequence: NextIds are what comes after the probe.
 */
const PROBE = ownSequence('world-probe', { programs: ['probe'], steps: [] });

/** The next ids of `target`'s kernel, after the probe that reads them. */
export async function nextIds(target: Target): Promise<NextIds | null> {
  const r = await target.run(PROBE, { crossCheck: false });
  const prog = r.world?.progIds['probe'] ?? r.progIds['probe'];
  const link = r.world?.nextLinkId ?? 0;
  if (!prog || !link) return null; // a target that does not tell (the emulator): nothing to match
  return { prog: prog + 1, link };
}

/**
 * Spends `progs` (>= 1) program ids and `links` (>= 1) link ids: the agent's own link probe
 * spends one, the first link_create of p0 on v0 one more, and each further one (the program is
 * attached already: EEXIST after bpf_link_prime) one each.
 */
function padding(progs: number, links: number): Sequence {
  const programs = Array.from({ length: progs }, (_, i) => `p${i}`);
  const steps = Array.from({ length: links - 1 }, (_, i) => ({
    op: 'link_create',
    link: `l${i}`,
    prog: 'p0',
    dev: 'v0',
    attach_type: 'tcx_ingress',
  }));
  return ownSequence('world-padding', { devices: [{ name: 'v0' }], programs, steps });
}

/** Rounds of padding before giving up: a kernel whose spending the padding does not predict. */
const ROUNDS = 4;

/** A gap the padding does not close: ids a kernel spent on its own (or a counter that wrapped). */
const MAX_GAP = 2000;

/**
 * Brings the two kernels of a diff to the same world: the objects of earlier sequences gone (settle), and the
 * same next program and link ids. Both pad every round (a padding sequence spends at least one
 * of each, so the one ahead pads the least it can and the one behind that plus the gap). True
 * once the probes agree.
 */
export async function matchWorlds(base: Target, kernel: Target): Promise<boolean> {
  if (!base.settle || !kernel.settle) return false;
  await Promise.all([onSide('base', base.settle()), onSide('kernel', kernel.settle())]);
  for (let round = 0; round < ROUNDS; round++) {
    const [nb, nk] = await Promise.all([onSide('base', nextIds(base)), onSide('kernel', nextIds(kernel))]);
    if (!nb || !nk) return false;
    if (nb.prog === nk.prog && nb.link === nk.link) return true;
    if (Math.abs(nb.prog - nk.prog) > MAX_GAP || Math.abs(nb.link - nk.link) > MAX_GAP) return false;
    // base then spends the gap and what kernel spends; both spend at least 1.
    const progGap = nk.prog - nb.prog;
    const linkGap = nk.link - nb.link;
    const kProgs = Math.max(1, 1 - progGap);
    const kLinks = Math.max(1, 1 - linkGap);
    await Promise.all([
      onSide('base', base.run(padding(kProgs + progGap, kLinks + linkGap), { crossCheck: false })),
      onSide('kernel', kernel.run(padding(kProgs, kLinks), { crossCheck: false })),
    ]);
  }
  return false;
}
