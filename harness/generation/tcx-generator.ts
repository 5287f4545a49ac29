// Seeded generation of mprog-seq/1 sequences, biased toward the states where attach semantics
// are subtle: entries near and at the capacity limit, relatives by fd and by id (of programs
// and of links), REPLACE mixed with BEFORE/AFTER, exact and stale expected revisions, closed
// fds, freed programs, deleted devices, two devices and both directions, links updated and
// detached. Every choice is made on the state the emulator says the prefix leaves (attach-state.ts),
// so "exact revision" and "a relative that is attached" are usually right. References take every
// form the format has, the wrong ones too: ids where the kernel reads an fd and the reverse, link
// ids where it reads a program id and the reverse, closed and freed objects, and raw numbers
// around the ids the target's kernel hands out (its own objects, objects outside the sequence,
// the id the next link gets).

import { tcxSequenceMaps } from './maps-choice.js';
import {
  BPF_CGROUP_INET_INGRESS,
  BPF_F_AFTER,
  BPF_F_ALLOW_MULTI,
  BPF_F_BEFORE,
  BPF_F_ID,
  BPF_F_LINK,
  BPF_F_REPLACE,
  BPF_NETKIT_PEER,
  BPF_NETKIT_PRIMARY,
  BPF_TCX_EGRESS,
  BPF_TCX_INGRESS,
} from '../../uapi/bpf.js';
import type { CgroupDecl, DevRef, DeviceDecl, Ref, Sequence, Step } from '../../contract/seq.js';
import {
  type AttachPoint,
  type KnownDevice,
  type Observation,
  type PointState,
  attachTypesOf,
  observe,
  occupants,
  pointKey,
} from './attach-state.js';
import { Rng } from './rng.js';
import { queryCount } from './op-choice.js';
import { type RefPoint, foreignNetkit, rawNumber } from './reference-choice.js';
import { type CommonOpKind, type GenerateOptions, type Generated, SequenceBuilder, build } from './sequence-builder.js';

/** How many link ids a sequence is likely to find taken between the world it was generated
 * after and its own link_create: the sequences in flight before it each take a few. */
const LINK_IDS_AHEAD = 24;

const SCHED_PROGS = 6;
/** How often a sequence with foreign programs also has a foreign (cgroup) link. */
const FOREIGN_LINK_SHARE = 0.4;
/** Programs a bulk fill attaches: enough to go past the 63 limit. */
const BULK_PROGS = 64;

const A = BPF_F_AFTER;
const B = BPF_F_BEFORE;
const ID = BPF_F_ID;
const L = BPF_F_LINK;
const R = BPF_F_REPLACE;

/** Flag combinations for attach and link create, weighted toward the ones with rules of their own. */
const ATTACH_FLAGS: readonly (readonly [number, number])[] = [
  [0, 24],
  [B, 12],
  [A, 12],
  [B | ID, 6],
  [A | ID, 6],
  [B | L, 4],
  [A | L, 4],
  [B | L | ID, 3],
  [A | L | ID, 3],
  [R, 8],
  [R | B, 3],
  [R | A, 3],
  [R | B | ID, 1],
  [B | A, 2],
  [ID, 2],
  [L, 1],
  [BPF_F_ALLOW_MULTI, 1],
  [B | BPF_F_ALLOW_MULTI, 1],
  [1 << 20, 1],
];

const DETACH_FLAGS: readonly (readonly [number, number])[] = [
  [0, 30],
  [B, 10],
  [A, 10],
  [B | ID, 4],
  [A | ID, 4],
  [B | L, 3],
  [A | L, 3],
  [A | L | ID, 2],
  [R, 2],
  [ID, 1],
  [BPF_F_ALLOW_MULTI, 1],
];

type OpKind = CommonOpKind | 'dev_create' | 'dev_delete';

const OPS: readonly (readonly [OpKind, number])[] = [
  ['prog_attach', 28],
  ['link_create', 16],
  ['prog_detach', 12],
  ['query', 12],
  ['link_update', 6],
  ['link_detach', 5],
  ['link_close', 5],
  ['link_info', 4],
  ['prog_close', 3],
  ['dev_delete', 2],
  ['dev_create', 2],
  ['bulk_fill', 3],
];

/** How often a clsact/ingress qdisc step comes right before, and right after, a decision. */
const QDISC_BEFORE = 0.06;
const QDISC_AFTER = 0.06;

/** The seed of a sequence's qdisc draws, from its name: they come from a stream of their own, so
 * that every other choice is drawn as it was before qdisc steps existed. */
function qdiscSeed(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** One tcx/netkit sequence under construction, with the emulator's picture of the state after its steps. */
class TcxBuilder extends SequenceBuilder<OpKind> {
  readonly devices: DeviceDecl[] = [];
  readonly known: KnownDevice[] = [];
  /** A netkit pair only the reference dimension's steps name (reference-choice.ts). */
  private readonly foreignDevices: DeviceDecl[] = [];
  /** The cgroup of a foreign link (foreignLink), if the sequence has one. */
  private readonly foreignCgroups: CgroupDecl[] = [];
  private nextDevice = 0;
  obs!: Observation;
  /** The qdisc steps' own draws (qdiscSeed). */
  private readonly qrng: Rng;

  constructor(rng: Rng, opts: GenerateOptions, name: string) {
    super(rng, opts, name, OPS);
    this.qrng = new Rng(qdiscSeed(name));
    this.declareDevice('veth', 'v0', true);
    if (rng.chance(0.5)) this.declareDevice('veth', 'v1', true);
    if (opts.netkit && rng.chance(0.25)) this.declareDevice('netkit', 'nk0', true);
    for (let i = 0; i < SCHED_PROGS; i++) this.programs.push({ name: `p${i}`, type: 'sched_cls' });
    if (rng.chance(0.4)) this.programs.push({ name: 'x0', type: 'xdp' });
    this.declareMaps(tcxSequenceMaps);
    this.declareBulk(0.2, BULK_PROGS, 'sched_cls');
    this.declareForeign(['xdp', 'cgroup_skb']);
    if (this.probes && opts.netkit && !this.devices.some((d) => d.kind === 'netkit') && foreignNetkit(this.refs()))
      this.foreignDevices.push({ name: 'onk', kind: 'netkit', peer: 'onkp' });
    // Cgroups in a sequence need the cgroup mprog API (the emulator models no other).
    if (opts.cgroups && this.foreignProgs.length > 0 && this.refs().chance(FOREIGN_LINK_SHARE)) this.foreignLink();
    this.refresh();
  }

  /** A link of another kind for references to name: the cgroup_skb program's, on a cgroup of its own. */
  private foreignLink(): void {
    this.foreignCgroups.push({ name: 'oc', parent: null });
    this.foreignLinks.push('ol');
    const prog = this.foreignProgs.find((p) => p.type === 'cgroup_skb')!.name;
    // Not pushed: the other dimensions' streams draw for the generator's own steps only.
    this.steps.push({
      op: 'link_create',
      link: 'ol',
      prog,
      dev: { cgroup: 'oc' },
      attach_type: BPF_CGROUP_INET_INGRESS,
      flags: 0,
      relative: null,
      expected_revision: 0,
    });
  }

  private declareDevice(kind: 'veth' | 'netkit', name: string, initial: boolean): DeviceDecl {
    const decl = { name, kind, peer: `${name}p` };
    if (initial) this.devices.push(decl);
    this.known.push({ name, kind }, { name: decl.peer, kind });
    return decl;
  }

  sequence(): Sequence {
    return this.sequenceWith(this.steps, {
      devices: [...this.devices, ...this.foreignDevices],
      ...(this.foreignCgroups.length > 0 && { cgroups: this.foreignCgroups }),
    });
  }

  refresh(): void {
    this.obs = observe(this.sequence(), this.opts.profile, this.known);
    for (const p of this.obs.points.values()) this.sizes.add(p.progs.length);
  }

  protected succeeded(i: number): boolean {
    return this.obs.results[i]!.ok;
  }

  // ---- what the state offers ----

  openProgs(): string[] {
    const closed = new Set(this.succeededOn('prog_close'));
    return this.programs.map((p) => p.name).filter((p) => !closed.has(p));
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

  /** The attach points by kind, for the reference probes: tcx on a veth, tcx on a netkit
   * device, netkit's types on a primary, and on a peer end. */
  protected refPoints(): RefPoint[][] {
    const devices = [
      ...this.known,
      ...this.foreignDevices.flatMap((d) => [
        { name: d.name, kind: d.kind },
        { name: d.peer, kind: d.kind },
      ]),
    ];
    const progs = this.regularProgs().filter((p) => p !== 'x0');
    const at = (names: string[], types: number[]) =>
      names.flatMap((name) => types.map((attach_type) => ({ dev: { name }, attach_type, mode: 0, progs })));
    const veth = devices.filter((d) => d.kind === 'veth').map((d) => d.name);
    const netkit = devices.filter((d) => d.kind === 'netkit').map((d) => d.name);
    // A peer is named after its primary with a p (declareDevice).
    const primary = netkit.filter((n) => !n.endsWith('p'));
    return [
      at(veth, [BPF_TCX_INGRESS, BPF_TCX_EGRESS]),
      at(netkit, [BPF_TCX_INGRESS, BPF_TCX_EGRESS]),
      at(primary, [BPF_NETKIT_PRIMARY, BPF_NETKIT_PEER]),
      at(
        netkit.filter((n) => n.endsWith('p')),
        [BPF_NETKIT_PRIMARY, BPF_NETKIT_PEER],
      ),
    ];
  }

  stateOf(point: AttachPoint): PointState {
    return this.obs.points.get(pointKey(point)) ?? { ...point, progs: [], links: [], revision: 1 };
  }

  devRef(point: AttachPoint): DevRef {
    if (this.rng.chance(0.03)) return { ifindex: this.rng.pick([0, 1, 2, 3, 99, 0x7fffffff]) };
    return { name: point.dev };
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

  rawNumber(): number {
    return rawNumber(this.rng, this.opts.nearIds ?? []);
  }

  attachFields(state: PointState, table: readonly (readonly [number, number])[]) {
    const flags = this.rng.weighted(table);
    return {
      dev: this.devRef(state),
      attach_type: state.attachType,
      flags,
      relative: this.relative(state, flags),
      expected_revision: this.expectedRevision(state.revision),
    };
  }

  // ---- one decision ----

  /** Detaches mostly while something is attached. */
  protected override weightOf(kind: OpKind, base: number): number {
    return kind === 'prog_detach' ? (this.pointsInUse().length > 0 ? base * 2 : Math.ceil(base / 4)) : base;
  }

  protected make(op: Exclude<OpKind, 'bulk_fill'>): Step | null {
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
          count: queryCount(rng),
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

  /** A decision, with now and then a qdisc added or deleted before or after it (attach, detach
   * and queries then meet an entry a qdisc keeps alive, empty or not). */
  override next(): void {
    const qdiscs = this.opts.qdiscs !== false;
    if (qdiscs && this.qrng.chance(QDISC_BEFORE)) this.push(this.qdiscStep());
    super.next();
    if (qdiscs && this.qrng.chance(QDISC_AFTER)) this.push(this.qdiscStep());
  }

  /** The qdisc (kind) each device has after the steps so far, as the emulator answered them. */
  private qdiscsNow(): Map<string, 'clsact' | 'ingress'> {
    const now = new Map<string, 'clsact' | 'ingress'>();
    this.steps.forEach((s, i) => {
      if (!this.succeeded(i)) return;
      if (s.op === 'qdisc_add') now.set(s.dev, s.kind);
      else if (s.op === 'qdisc_delete') now.delete(s.dev);
      else if (s.op === 'dev_delete') for (const d of [s.dev, s.dev.replace(/p$/, ''), `${s.dev}p`]) now.delete(d); // either end takes both
    });
    return now;
  }

  /** Mostly: add one where none is, delete the one there is; sometimes the other kind, or a second add. */
  qdiscStep(): Step {
    const q = this.qrng;
    const alive = this.known.filter((d) => this.obs.alive.has(d.name));
    const dev = (alive.length > 0 && q.chance(0.95) ? q.pick(alive) : q.pick(this.known)).name;
    const has = this.qdiscsNow().get(dev);
    const other = (k: 'clsact' | 'ingress') => (k === 'clsact' ? 'ingress' : 'clsact');
    const fresh = q.chance(0.7) ? 'clsact' : 'ingress';
    if (!has) return { op: q.chance(0.85) ? 'qdisc_add' : 'qdisc_delete', dev, kind: fresh };
    const op = q.chance(0.75) ? 'qdisc_delete' : 'qdisc_add';
    return { op, dev, kind: q.chance(0.8) ? has : other(has) };
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
    const slot = this.pointsInUse()
      .flatMap((p) => p.links.map((l, i) => ({ l, prog: p.progs[i]!, point: p })))
      .find((s) => s.l === link);
    const prog = slot && rng.chance(0.7) ? this.attachProg(slot.point) : rng.pick(this.regularProgs());
    const flags = rng.weighted([
      [0, 60],
      [R, 30],
      [B, 5],
      [R | A, 5],
    ]);
    const old = flags & R || rng.chance(0.1) ? (slot && rng.chance(0.7) ? slot.prog : rng.pick(this.regularProgs())) : null;
    return { op: 'link_update', link, prog, old_prog: old, flags };
  }

  /** Fills one attach point to 60..63 entries (sometimes trying one past the limit) in one decision. */
  protected bulkFill(): void {
    const state = this.stateOf(this.point(true));
    const max = this.opts.profile.mprogMax;
    const target = this.rng.between(Math.min(60, max), max + 1);
    const asLinks = this.rng.chance(0.2);
    const flags = this.rng.weighted([
      [0, 3],
      [B, 1],
      [A, 1],
    ]);
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

/** One tcx/netkit sequence, `rng` already seeded for it. */
export function generateTcxSequence(rng: Rng, opts: GenerateOptions, name: string): Generated {
  return build(new TcxBuilder(rng, opts, name));
}
