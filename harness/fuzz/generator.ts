// Seeded generation of mprog-seq/1 sequences, biased toward the states where attach semantics
// are subtle: entries near and at the capacity limit, relatives by fd and by id (of programs
// and of links), REPLACE mixed with BEFORE/AFTER, exact and stale expected revisions, closed
// fds, freed programs, deleted devices, two devices and both directions, links updated and
// detached. Every choice is made on the state the emulator says the prefix leaves (model.ts),
// so "exact revision" and "a relative that is attached" are usually right. References take every
// form the format has, the wrong ones too: ids where the kernel reads an fd and the reverse, link
// ids where it reads a program id and the reverse, closed and freed objects, and raw numbers
// around the ids the target's kernel hands out (its own objects, objects outside the sequence,
// the id the next link gets).

import type { Profile } from '../../emulator/profiles.js';
import type { KernelWorld } from '../../emulator/world.js';
import {
  BPF_F_AFTER,
  BPF_F_ALLOW_MULTI,
  BPF_F_BEFORE,
  BPF_F_ID,
  BPF_F_LINK,
  BPF_F_REPLACE,
  BPF_TCX_INGRESS,
} from '../../emulator/uapi.js';
import type { DevRef, DeviceDecl, ProgramDecl, Ref, Sequence, Step } from '../../contract/seq.js';
import { type AttachPoint, type KnownDevice, type Observation, type PointState, attachTypesOf, observe, occupants, pointKey } from './model.js';
import { generateCgroupSequence } from './cgroup-generator.js';
import { drawOp, linkOpWeight } from './op-choice.js';
import { Rng, sequenceSeed } from './rng.js';

export interface GenerateOptions {
  /** The emulator profile whose answers steer the generator. */
  profile: Profile;
  /** Generator decisions per sequence; a bulk fill (tens of attaches) is one decision. */
  maxSteps: number;
  /** Whether the target can create netkit devices. */
  netkit: boolean;
  /** Whether sequences may fill an entry to its limit (needs 60+ programs loaded per sequence). */
  bulk: boolean;
  /** Whether some sequences are about cgroups (cgroup-generator.ts): the kernel has their mprog API. */
  cgroups?: boolean;
  /** Exactly maxSteps decisions (benchmarks); otherwise 1..maxSteps. */
  fixedLength?: boolean;
  /** Ids the target's kernel used lately (idsOfWorld); raw numbers are drawn around them. */
  nearIds?: readonly number[];
  /** The id the target's kernel gave out next lately (world.nextLinkId; 0: unknown). */
  nextLinkId?: number;
}

/** How many link ids a sequence is likely to find taken between the world it was generated
 * after and its own link_create: the sequences in flight before it each take a few. */
const LINK_IDS_AHEAD = 24;

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

export interface Generated {
  seq: Sequence;
  /** Every entry size (attached count of some attach point) the emulator saw after some step. */
  sizes: number[];
}

/** The share of cgroup sequences when the kernel has the cgroup mprog API, and the salt of the
 * stream that decides it. */
const CGROUP_SHARE = 0.3;
const CGROUP_SALT = 0x6367;

const SCHED_PROGS = 6;
/** Programs a bulk fill attaches: enough to go past the 63 limit. */
const BULK_PROGS = 64;

const A = BPF_F_AFTER;
const B = BPF_F_BEFORE;
const ID = BPF_F_ID;
const L = BPF_F_LINK;
const R = BPF_F_REPLACE;

/** Flag combinations for attach and link create, weighted toward the ones with rules of their own. */
const ATTACH_FLAGS: readonly (readonly [number, number])[] = [
  [0, 24], [B, 12], [A, 12], [B | ID, 6], [A | ID, 6], [B | L, 4], [A | L, 4], [B | L | ID, 3], [A | L | ID, 3],
  [R, 8], [R | B, 3], [R | A, 3], [R | B | ID, 1], [B | A, 2], [ID, 2], [L, 1], [BPF_F_ALLOW_MULTI, 1],
  [B | BPF_F_ALLOW_MULTI, 1], [1 << 20, 1],
];

const DETACH_FLAGS: readonly (readonly [number, number])[] = [
  [0, 30], [B, 10], [A, 10], [B | ID, 4], [A | ID, 4], [B | L, 3], [A | L, 3], [A | L | ID, 2], [R, 2], [ID, 1], [BPF_F_ALLOW_MULTI, 1],
];

type OpKind =
  | 'prog_attach' | 'prog_detach' | 'link_create' | 'link_update' | 'link_detach' | 'link_close' | 'link_info'
  | 'prog_close' | 'query' | 'dev_create' | 'dev_delete' | 'bulk_fill';

const OPS: readonly (readonly [OpKind, number])[] = [
  ['prog_attach', 28], ['link_create', 16], ['prog_detach', 12], ['query', 12], ['link_update', 6], ['link_detach', 5],
  ['link_close', 5], ['link_info', 4], ['prog_close', 3], ['dev_delete', 2], ['dev_create', 2], ['bulk_fill', 3],
];

/** One sequence under construction, with the emulator's picture of the state after its steps. */
class Builder {
  readonly devices: DeviceDecl[] = [];
  readonly known: KnownDevice[] = [];
  readonly programs: ProgramDecl[] = [];
  readonly steps: Step[] = [];
  readonly links: string[] = [];
  readonly sizes = new Set<number>();
  private bulkProgs: string[] = [];
  private bulkDone = false;
  private nextDevice = 0;
  obs!: Observation;

  constructor(
    readonly rng: Rng,
    readonly opts: GenerateOptions,
    readonly name: string,
  ) {
    this.declareDevice('veth', 'v0', true);
    if (rng.chance(0.5)) this.declareDevice('veth', 'v1', true);
    if (opts.netkit && rng.chance(0.25)) this.declareDevice('netkit', 'nk0', true);
    for (let i = 0; i < SCHED_PROGS; i++) this.programs.push({ name: `p${i}`, type: 'sched_cls' });
    if (rng.chance(0.4)) this.programs.push({ name: 'x0', type: 'xdp' });
    if (opts.bulk && rng.chance(0.2)) {
      this.bulkProgs = Array.from({ length: BULK_PROGS }, (_, i) => `b${i}`);
      for (const name of this.bulkProgs) this.programs.push({ name, type: 'sched_cls' });
    }
    this.refresh();
  }

  private declareDevice(kind: 'veth' | 'netkit', name: string, initial: boolean): DeviceDecl {
    const decl = { name, kind, peer: `${name}p` };
    if (initial) this.devices.push(decl);
    this.known.push({ name, kind }, { name: decl.peer, kind });
    return decl;
  }

  sequence(): Sequence {
    return {
      format: 'mprog-seq/1',
      name: this.name,
      file: `${this.name}.json`,
      devices: this.devices,
      programs: this.programs,
      steps: this.steps,
      expects: this.steps.map(() => undefined),
      links: this.links,
    };
  }

  refresh(): void {
    this.obs = observe(this.sequence(), this.opts.profile, this.known);
    for (const p of this.obs.points.values()) this.sizes.add(p.progs.length);
  }

  push(...steps: Step[]): void {
    this.steps.push(...steps);
    this.refresh();
  }

  // ---- what the state offers ----

  private resultOf(pred: (s: Step) => boolean): { step: Step; ok: boolean }[] {
    return this.steps.flatMap((step, i) => (pred(step) ? [{ step, ok: this.obs.results[i]!.ok }] : []));
  }

  /** Links whose creation succeeded and whose fd is still open. */
  openLinks(): string[] {
    const created = this.resultOf((s) => s.op === 'link_create').filter((r) => r.ok).map((r) => (r.step as { link: string }).link);
    const closed = new Set(this.resultOf((s) => s.op === 'link_close').filter((r) => r.ok).map((r) => (r.step as { link: string }).link));
    return created.filter((l) => !closed.has(l));
  }

  openProgs(): string[] {
    const closed = new Set(this.resultOf((s) => s.op === 'prog_close').filter((r) => r.ok).map((r) => (r.step as { prog: string }).prog));
    return this.programs.map((p) => p.name).filter((p) => !closed.has(p));
  }

  regularProgs(): string[] {
    return this.programs.map((p) => p.name).filter((p) => !p.startsWith('b'));
  }

  pointsInUse(): PointState[] {
    return [...this.obs.points.values()].filter((p) => p.progs.length > 0);
  }

  /** An attach point: mostly one in use, sometimes (unless `mustExist`) on a deleted device. */
  point(mustExist = false): AttachPoint {
    const used = this.pointsInUse();
    if (used.length > 0 && this.rng.chance(0.6)) return this.rng.pick(used);
    const alive = this.known.filter((d) => this.obs.alive.has(d.name));
    const dev = alive.length > 0 && (mustExist || this.rng.chance(0.95)) ? this.rng.pick(alive) : this.rng.pick(this.known);
    const types = attachTypesOf(dev);
    // Mostly ingress: sequences that stay on one point build longer lists.
    const attachType = this.rng.chance(0.5) ? BPF_TCX_INGRESS : this.rng.pick(types);
    return { dev: dev.name, attachType };
  }

  stateOf(point: AttachPoint): PointState {
    return this.obs.points.get(pointKey(point)) ?? { ...point, progs: [], links: [], revision: 1 };
  }

  devRef(point: AttachPoint): DevRef {
    if (this.rng.chance(0.03)) return { ifindex: this.rng.pick([0, 1, 2, 3, 99, 0x7fffffff]) };
    return { name: point.dev };
  }

  expectedRevision(state: PointState): number {
    return this.rng.weighted([
      [0, 50],
      [state.revision, 35],
      [Math.max(1, state.revision - 1), 5],
      [state.revision + 1, 5],
      [1, 5],
    ]);
  }

  /** A program to attach at `state`: mostly one not there yet (so the attach can succeed). */
  attachProg(state: PointState): string {
    const fresh = this.regularProgs().filter((p) => !state.progs.includes(p) && p !== 'x0');
    if (fresh.length > 0 && this.rng.chance(0.8)) return this.rng.pick(fresh);
    return this.rng.pick(this.regularProgs());
  }

  /** A relative for `flags`: mostly an occupant of the point, by id or fd as the flags ask. */
  relative(state: PointState, flags: number): Ref | null {
    const wants = flags & (B | A | ID | L);
    if (!wants && !this.rng.chance(0.05)) return null;
    if (wants && this.rng.chance(0.1)) return null;
    if (this.rng.chance(0.1)) return { value: this.rawNumber() };
    // Mostly the kind of object the flags ask for; sometimes the other (a link's id where a
    // program's is read, and the reverse).
    const wantLink = ((flags & L) !== 0) !== this.rng.chance(0.12);
    const here = wantLink ? state.links.filter((l): l is string => l !== null) : state.progs;
    const anywhere = wantLink ? this.links : this.programs.map((p) => p.name);
    const pool = here.length > 0 && this.rng.chance(0.8) ? here : anywhere.length > 0 ? anywhere : occupants(state);
    if (pool.length === 0) return { value: 0 };
    return this.reference(this.rng.pick(pool), (flags & ID) !== 0);
  }

  /** `name` as the form asked for (by id or by fd), or now and then as the other form. */
  reference(name: string, byId: boolean): Ref {
    return byId !== this.rng.chance(0.12) ? { id: name } : { fd: name };
  }

  /** A raw number: the edges, small numbers (fds, a fresh kernel's ids), or one near an id the
   * target's kernel used lately (its objects, others', the next link's). */
  rawNumber(): number {
    const near = this.opts.nearIds ?? [];
    const kind = this.rng.weighted([['edge', 2], ['small', 3], ['near', near.length > 0 ? 6 : 0]] as const);
    if (kind === 'edge') return this.rng.pick([0, 1000, 1000000, 0x7fffffff, 0xffffffff]);
    if (kind === 'small') return this.rng.between(1, 12);
    return Math.max(0, this.rng.pick(near) + this.rng.between(-3, 3));
  }

  attachFields(state: PointState, table: readonly (readonly [number, number])[]) {
    const flags = this.rng.weighted(table);
    return {
      dev: this.devRef(state),
      attach_type: state.attachType,
      flags,
      relative: this.relative(state, flags),
      expected_revision: this.expectedRevision(state),
    };
  }

  // ---- one decision ----

  next(): void {
    const op = drawOp(this.rng, OPS, (kind, w) => this.weight(kind, w));
    if (op === 'bulk_fill') return this.bulkFill();
    const step = this.make(op);
    if (step) this.push(step);
  }

  /** How likely `kind` is now: link commands mostly while some link is open, detaches while something is attached. */
  weight(kind: OpKind, base: number): number {
    switch (kind) {
      case 'bulk_fill':
        return this.bulkProgs.length > 0 && !this.bulkDone ? base : 0;
      case 'link_update':
      case 'link_detach':
      case 'link_close':
      case 'link_info':
        return linkOpWeight(this.links.length, this.openLinks().length, base);
      case 'prog_detach':
        return this.pointsInUse().length > 0 ? base * 2 : Math.ceil(base / 4);
      default:
        return base;
    }
  }

  make(op: Exclude<OpKind, 'bulk_fill'>): Step | null {
    const rng = this.rng;
    switch (op) {
      case 'prog_attach': {
        const state = this.stateOf(this.point());
        const fields = this.attachFields(state, ATTACH_FLAGS);
        const replace = fields.flags & R ? this.replaceRef(state) : rng.chance(0.03) ? { fd: rng.pick(this.regularProgs()) } : null;
        return { op, prog: this.attachProg(state), ...fields, replace };
      }
      case 'link_create': {
        const state = this.stateOf(this.point());
        const link = `l${this.links.length}`;
        this.links.push(link);
        const fields = this.attachFields(state, ATTACH_FLAGS);
        // A relative link id equal to the new link's own: primed, not yet settled (EAGAIN).
        const next = this.opts.nextLinkId ?? 0;
        if ((fields.flags & (L | ID)) === (L | ID) && next && rng.chance(0.3)) fields.relative = { value: next + rng.between(0, LINK_IDS_AHEAD) };
        return { op, link, prog: this.attachProg(state), ...fields };
      }
      case 'prog_detach': {
        const used = this.pointsInUse();
        const state = this.stateOf(used.length > 0 && rng.chance(0.9) ? rng.pick(used) : this.point());
        const prog = state.progs.length > 0 && rng.chance(0.75) ? rng.pick(state.progs) : rng.chance(0.5) ? null : rng.pick(this.regularProgs());
        return { op, prog: prog === '?' ? null : prog, ...this.attachFields(state, DETACH_FLAGS) };
      }
      case 'query': {
        const point = this.point();
        return {
          op,
          dev: this.devRef(point),
          attach_type: point.attachType,
          count: rng.weighted([[64, 70], [0, 8], [1, 8], [2, 6], [3, 4]]),
          query_flags: rng.chance(0.03) ? 1 : 0,
          attach_flags: rng.chance(0.02) ? 1 : 0,
        };
      }
      case 'link_update':
        return this.linkUpdate();
      case 'link_detach':
      case 'link_close':
      case 'link_info': {
        const open = this.openLinks();
        return { op, link: open.length > 0 && rng.chance(0.85) ? rng.pick(open) : rng.pick(this.links) };
      }
      case 'prog_close': {
        const open = this.openProgs().filter((p) => !p.startsWith('b'));
        return { op, prog: open.length > 0 ? rng.pick(open) : rng.pick(this.regularProgs()) };
      }
      case 'dev_delete': {
        const alive = this.known.filter((d) => this.obs.alive.has(d.name));
        return { op, dev: (alive.length > 0 && rng.chance(0.9) ? rng.pick(alive) : rng.pick(this.known)).name };
      }
      case 'dev_create': {
        const kind = this.opts.netkit && rng.chance(0.3) ? 'netkit' : 'veth';
        const decl = this.declareDevice(kind, `d${this.nextDevice++}`, false);
        return { op, ...decl };
      }
    }
  }

  replaceRef(state: PointState): Ref {
    if (this.rng.chance(0.1)) return { value: this.rawNumber() };
    if (state.progs.length > 0 && this.rng.chance(0.8)) return this.reference(this.rng.pick(state.progs), false);
    return this.reference(this.rng.pick([...this.regularProgs(), ...this.links]), false);
  }

  linkUpdate(): Step {
    const rng = this.rng;
    const open = this.openLinks();
    const link = open.length > 0 && rng.chance(0.85) ? rng.pick(open) : rng.pick(this.links);
    const slot = this.pointsInUse().flatMap((p) => p.links.map((l, i) => ({ l, prog: p.progs[i]!, point: p }))).find((s) => s.l === link);
    const prog = slot && rng.chance(0.7) ? this.attachProg(slot.point) : rng.pick(this.regularProgs());
    const flags = rng.weighted([[0, 60], [R, 30], [B, 5], [R | A, 5]]);
    const old = flags & R || rng.chance(0.1) ? (slot && rng.chance(0.7) ? slot.prog : rng.pick(this.regularProgs())) : null;
    return { op: 'link_update', link, prog, old_prog: old, flags };
  }

  /** Fills one attach point to 60..63 entries (sometimes trying one past the limit) in one decision. */
  bulkFill(): void {
    this.bulkDone = true;
    const state = this.stateOf(this.point(true));
    const max = this.opts.profile.mprogMax;
    const target = this.rng.between(Math.min(60, max), max + 1);
    const asLinks = this.rng.chance(0.2);
    const flags = this.rng.weighted([[0, 3], [B, 1], [A, 1]]);
    const steps: Step[] = [];
    for (const prog of this.bulkProgs.slice(0, Math.max(0, target - state.progs.length))) {
      const common = { prog, dev: { name: state.dev }, attach_type: state.attachType, flags, relative: null, expected_revision: 0 };
      if (asLinks) {
        const link = `l${this.links.length}`;
        this.links.push(link);
        steps.push({ op: 'link_create', link, ...common });
      } else {
        steps.push({ op: 'prog_attach', ...common, replace: null });
      }
    }
    this.push(...steps);
  }
}

/** Sequence `index` of a run seeded with `seed`: the same arguments always give the same sequence. */
export function generateSequence(seed: number, index: number, opts: GenerateOptions): Generated {
  const name = `fuzz-${seed}-${index}`;
  // Decided on a stream of its own, so that a seed's tcx sequences stay what they were.
  if (opts.cgroups && new Rng(sequenceSeed(seed, index) ^ CGROUP_SALT).chance(CGROUP_SHARE)) {
    return generateCgroupSequence(new Rng(sequenceSeed(seed, index)), opts, name);
  }
  const b = new Builder(new Rng(sequenceSeed(seed, index)), opts, name);
  const decisions = opts.fixedLength ? opts.maxSteps : b.rng.between(1, Math.max(1, opts.maxSteps));
  for (let i = 0; i < decisions; i++) b.next();
  return { seq: b.sequence(), sizes: [...b.sizes].sort((x, y) => x - y) };
}
