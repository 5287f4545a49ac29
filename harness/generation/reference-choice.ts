// The reference dimension of generated sequences: now and then, after a decision, a probe step
// whose reference field (a relative, prog_attach's replace, link_update's old_prog or new
// program) names an object drawn evenly over every kind of object the sequence has, on an attach
// point drawn evenly over every kind of point: programs of each type (the point's own, xdp,
// cgroup_skb, sched_cls on a cgroup list), open and closed, links of each kind (of this
// generator's points, a cgroup link in a tcx sequence), open, closed, detached and never made,
// by fd and by id, and raw numbers; tcx on a veth and on a netkit device, netkit's types on the
// primary and on the peer end. The generators aim their own choices at the state (a relative
// that is attached), which reaches the rules of a position; probes reach the rules of what an
// object is, which the kernel checks first: netkit's BPF_F_REPLACE given an XDP program
// (EINVAL) showed in 4 steps, yet 200 generated sequences never made that call. The flags follow
// the object (BPF_F_LINK for a link, BPF_F_ID for an id, BPF_F_REPLACE for a replace, a
// position for a relative) so that the kernel reads it as what it is, now and then not. The
// objects probes need and the generators lack (a program of each other type, a cgroup link in a
// tcx sequence, a netkit pair) are declared after the generator's own. Drawn from a stream of
// their own (refRng), so that every other choice of a sequence is drawn as it was before.

import type { DevRef, ProgramDecl, ProgramType, Ref, Step } from '../../contract/seq.js';
import { BPF_F_AFTER, BPF_F_BEFORE, BPF_F_ID, BPF_F_LINK, BPF_F_REPLACE } from '../../uapi/bpf.js';
import { Rng } from './rng.js';

/** How often a probe follows a decision; how often its flags ignore the object; how often a
 * sequence with no netkit device gets a pair of its own. */
const PROBE_SHARE = 0.3;
const FLAGS_OFF = 0.1;
const NETKIT_SHARE = 0.75;

/** An attach point a probe may name, and the programs of the type it takes. */
export interface RefPoint {
  dev: DevRef;
  attach_type: number;
  /** Flags every attach there carries (a cgroup list's BPF_F_ALLOW_MULTI). */
  mode: number;
  progs: readonly string[];
}

/** What a sequence offers a probe, each list by kind (each kind that has any is as likely as another). */
export interface RefPools {
  progs: readonly (readonly string[])[];
  links: readonly (readonly string[])[];
  points: readonly (readonly RefPoint[])[];
}

/** The reference stream of a sequence, from its name. */
export function refRng(name: string): Rng {
  let h = 0x52ef1c3d;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  const rng = new Rng(h | 0);
  // As capsRng: xoroshiro128+'s first outputs from a 32-bit seed hardly depend on it.
  for (let i = 0; i < 8; i++) rng.u32();
  return rng;
}

/** One program of each of `types` (named o0, o1, ...), which the generator's own points do not take. */
export function foreignPrograms(types: readonly ProgramType[]): ProgramDecl[] {
  return types.map((type, i) => ({ name: `o${i}`, type }));
}

/** Whether a sequence with no netkit device gets one of its own (when the target can make them). */
export function foreignNetkit(rng: Rng): boolean {
  return rng.chance(NETKIT_SHARE);
}

/** Whether a probe follows this decision. */
export function probeNow(rng: Rng): boolean {
  return rng.chance(PROBE_SHARE);
}

/** A raw number: the edges, small numbers (fds, a fresh kernel's ids), or one near an id the
 * target's kernel used lately (`near`: its objects, others', the next link's). */
export function rawNumber(rng: Rng, near: readonly number[]): number {
  const kind = rng.weighted([
    ['edge', 2],
    ['small', 3],
    ['near', near.length > 0 ? 6 : 0],
  ] as const);
  if (kind === 'edge') return rng.pick([0, 1000, 1000000, 0x7fffffff, 0xffffffff]);
  if (kind === 'small') return rng.between(1, 12);
  return Math.max(0, rng.pick(near) + rng.between(-3, 3));
}

/** A name from one of the kinds that have any, as likely as each other kind. */
function drawName(rng: Rng, kinds: readonly (readonly string[])[]): string | null {
  const some = kinds.filter((k) => k.length > 0);
  return some.length > 0 ? rng.pick(rng.pick(some)) : null;
}

/** A program (or, with `links`, a link), by fd or by id (`byId`); now and then a raw number. */
function drawRef(rng: Rng, progs: RefPools['progs'], links: RefPools['links'], near: readonly number[], byId: number) {
  const link = links.some((k) => k.length > 0) && rng.chance(0.5);
  const name = rng.chance(0.1) ? null : drawName(rng, link ? links : progs);
  const ref: Ref = name === null ? { value: rawNumber(rng, near) } : rng.chance(byId) ? { id: name } : { fd: name };
  return { ref, link };
}

/** `base` with what makes the kernel read a relative `ref` as what it is: LINK, ID, a position. */
function relativeFlags(rng: Rng, base: number, ref: Ref, link: boolean): number {
  const position = rng.chance(0.5) ? BPF_F_BEFORE : BPF_F_AFTER;
  if (rng.chance(FLAGS_OFF)) return (base | position) >>> 0;
  return (base | position | (link ? BPF_F_LINK : 0) | ('id' in ref ? BPF_F_ID : 0)) >>> 0;
}

/** One probe on `pools` (a step; a link_update may come with the link_create of the link it
 * updates, named `nextLink`), or none when the sequence has no point. */
export function referenceProbe(rng: Rng, pools: RefPools, nextLink: string, near: readonly number[]): Step[] {
  const kinds = pools.points.filter((k) => k.length > 0);
  if (kinds.length === 0) return [];
  const point = rng.pick(rng.pick(kinds));
  const own = rng.pick(point.progs);
  const at = { dev: point.dev, attach_type: point.attach_type, expected_revision: 0 };
  const op = rng.weighted([
    ['replace', 3],
    ['prog_attach', 3],
    ['link_create', 2],
    ['prog_detach', 2],
    ['link_update', 2],
  ] as const);
  switch (op) {
    case 'replace': {
      // replace_bpf_fd is read as an fd (an id there is a number no fd may have, now and then).
      const { ref } = drawRef(rng, [...pools.progs, pools.links.flat()], [], near, 0.15);
      const flags = rng.chance(FLAGS_OFF) ? point.mode : point.mode | BPF_F_REPLACE;
      return [{ op: 'prog_attach', prog: own, ...at, flags, relative: null, replace: ref }];
    }
    case 'prog_attach':
    case 'link_create':
    case 'prog_detach': {
      const { ref, link } = drawRef(rng, pools.progs, pools.links, near, 0.5);
      // A detach names a program of any kind, or none (the relative alone says which).
      if (op === 'prog_detach') {
        const prog = rng.chance(0.5) ? null : drawName(rng, pools.progs);
        return [{ op, prog, ...at, flags: relativeFlags(rng, 0, ref, link), relative: ref }];
      }
      if (op === 'link_create') return [{ op, link: nextLink, prog: own, ...at, flags: relativeFlags(rng, 0, ref, link), relative: ref }];
      return [{ op, prog: own, ...at, flags: relativeFlags(rng, point.mode, ref, link), relative: ref, replace: null }];
    }
    case 'link_update': {
      // Half the time a link of the point's kind made for it: links of each kind get updated
      // (a netkit link's own rules are otherwise hardly ever met).
      const existing = rng.chance(0.5) ? drawName(rng, pools.links) : null;
      const create: Step[] = existing ? [] : [{ op: 'link_create', link: nextLink, prog: own, ...at, flags: 0, relative: null }];
      const link = existing ?? nextLink;
      // The new program of each kind, or the old one: both are checked against the link's.
      const prog = drawName(rng, pools.progs) ?? own;
      const old = rng.chance(0.7) ? drawName(rng, pools.progs) : null;
      const flags = old !== null && !rng.chance(FLAGS_OFF) ? BPF_F_REPLACE : 0;
      return [...create, { op, link, prog, old_prog: old, flags }];
    }
  }
}
