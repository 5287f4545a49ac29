// The maps dimension of generated sequences (spec "Maps"): every other cgroup sequence declares
// two shared cgroup storage maps, a per-CPU one and an array, and gives its cgroup programs
// storages that match or differ (the same map, the other one, none, one of each type, now and
// then two of a type, which the verifier refuses), so that its link updates and BPF_F_REPLACE
// attaches meet __cgroup_bpf_replace()'s storage check and __cgroup_bpf_attach()'s lack of one;
// a tcx sequence now and then gives its programs arrays (nothing on the tcx path reads them).
// Drawn from a stream of its own (mapsRng), so that every other choice is drawn as before.

import type { LinkUpdateStep, MapDecl, ProgramDecl } from '../../contract/seq.js';
import { type Rng, nameStream } from './rng.js';

const CGROUP_SHARE = 0.5;
const TCX_SHARE = 0.1;
/** How often, after a decision of a sequence with maps and an open link, that link is updated to a
 * program of its program's type (whose storage then matches or not): the generator's own link
 * updates come too seldom on a link that exists for the storage check to be met. */
const UPDATE_SHARE = 0.5;

const CGROUP_MAPS: readonly MapDecl[] = [
  { name: 's0', type: 'cgroup_storage' },
  { name: 's1', type: 'cgroup_storage' },
  { name: 'q0', type: 'percpu_cgroup_storage' },
  { name: 'm0', type: 'array' },
];
const TCX_MAPS: readonly MapDecl[] = [
  { name: 'm0', type: 'array' },
  { name: 'm1', type: 'array' },
];

/** What a cgroup program references, by weight: s0 most (so programs share it), else the rest. */
const CGROUP_USES: readonly (readonly [readonly string[], number])[] = [
  [[], 3],
  [['s0'], 5],
  [['s1'], 3],
  [['s0', 'q0'], 2],
  [['q0'], 1],
  [['s0', 'm0'], 1],
  [['m0'], 1],
  [['s0', 's1'], 1], // EBUSY at load: the program stays unopened
];
const TCX_USES: readonly (readonly [readonly string[], number])[] = [
  [[], 2],
  [['m0'], 2],
  [['m1', 'm0'], 1],
];

/** The maps stream of a sequence, from its name. */
export function mapsRng(name: string): Rng {
  return nameStream(name, 0x3c6ef372);
}

/** With chance `share`, `maps`, and each of `programs` (in place; a bulk fill's are declared after)
 * given maps drawn from `uses`; the maps declared, or none. */
function drawMaps(
  rng: Rng,
  programs: ProgramDecl[],
  share: number,
  maps: readonly MapDecl[],
  uses: readonly (readonly [readonly string[], number])[],
): MapDecl[] {
  if (!rng.chance(share)) return [];
  for (const p of programs) {
    const names = rng.weighted(uses);
    if (names.length > 0) p.maps = [...names];
  }
  return maps.map((m) => ({ ...m }));
}

export function cgroupSequenceMaps(rng: Rng, programs: ProgramDecl[]): MapDecl[] {
  return drawMaps(rng, programs, CGROUP_SHARE, CGROUP_MAPS, CGROUP_USES);
}

export function tcxSequenceMaps(rng: Rng, programs: ProgramDecl[]): MapDecl[] {
  return drawMaps(rng, programs, TCX_SHARE, TCX_MAPS, TCX_USES);
}

/** With chance UPDATE_SHARE, a link_update of one of `links` (each with its program's type) to a
 * program of that type among `programs`; else none. */
export function storageUpdate(
  rng: Rng,
  links: readonly { link: string; prog: ProgramDecl }[],
  programs: readonly ProgramDecl[],
): LinkUpdateStep | null {
  if (links.length === 0 || !rng.chance(UPDATE_SHARE)) return null;
  const { link, prog } = rng.pick(links);
  const to = rng.pick(programs.filter((p) => p.type === prog.type));
  return { op: 'link_update', link, prog: to.name, old_prog: null, flags: 0 };
}
