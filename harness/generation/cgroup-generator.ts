// Seeded generation of cgroup sequences (kernel/bpf/cgroup.c's own mprog API): a small hierarchy,
// the three modes (none, override, multi) and their EPERMs, relatives by fd, id and link, exact
// and stale revisions, BPF_F_PREORDER, REPLACE, effective queries, link updates, cgroups removed
// and made again, and now and then a list filled to its limit of 64. As for tcx (tcx-generator.ts),
// every choice is made on the state the emulator says the prefix leaves: the prefix is replayed
// with a query per cgroup and attach type appended, which gives each list, its mode and revision.

import { cgroupSequenceMaps } from './maps-choice.js';
import { normalise } from '../replay/normalise.js';
import { runOnEmulator } from '../targets/emulator.js';
import type { CgroupDecl, DevRef, QueryArrayName, QueryStep, Ref, Sequence, Step, StepResult } from '../../contract/seq.js';
import {
  BPF_CGROUP_GETSOCKOPT,
  BPF_CGROUP_INET_EGRESS,
  BPF_CGROUP_INET_INGRESS,
  BPF_F_AFTER,
  BPF_F_ALLOW_MULTI,
  BPF_F_ALLOW_OVERRIDE,
  BPF_F_BEFORE,
  BPF_F_ID,
  BPF_F_LINK,
  BPF_F_PREORDER,
  BPF_F_QUERY_EFFECTIVE,
  BPF_F_REPLACE,
} from '../../uapi/bpf.js';
import type { Rng } from './rng.js';
import { queryCount } from './op-choice.js';
import { type CommonOpKind, type GenerateOptions, type Generated, SequenceBuilder, build } from './sequence-builder.js';
import type { RefPoint } from './reference-choice.js';

const IN = BPF_CGROUP_INET_INGRESS;
const EG = BPF_CGROUP_INET_EGRESS;
const GS = BPF_CGROUP_GETSOCKOPT;
const M = BPF_F_ALLOW_MULTI;
const O = BPF_F_ALLOW_OVERRIDE;
const B = BPF_F_BEFORE;
const A = BPF_F_AFTER;
const ID = BPF_F_ID;
const L = BPF_F_LINK;
const R = BPF_F_REPLACE;
const P = BPF_F_PREORDER;

/** The list of one cgroup and attach type as the emulator reports it. */
interface ListState {
  cgroup: string;
  attachType: number;
  progs: string[];
  /** The list's mode (query attach_flags). */
  mode: number;
  revision: number;
}

/** The mode part of an attach's flags, weighted toward multi (where lists grow). */
const MODES: readonly (readonly [number, number])[] = [
  [M, 60],
  [0, 14],
  [O, 10],
  [O | M, 2],
];
/** The rest of an attach's flags, weighted toward the rules of the cgroup mprog API. */
const POSITIONS: readonly (readonly [number, number])[] = [
  [0, 24],
  [B, 10],
  [A, 10],
  [B | ID, 5],
  [A | ID, 5],
  [B | L, 3],
  [A | L, 3],
  [A | L | ID, 2],
  [R, 6],
  [R | B, 2],
  [B | A, 3],
  [P, 6],
  [P | B, 3],
  [P | A, 3],
  [ID, 2],
  [L, 1],
  [1 << 20, 1],
];
/** link_create's flags: its own mask (ID|BEFORE|AFTER|PREORDER|LINK), sometimes more. */
const LINK_FLAGS: readonly (readonly [number, number])[] = [
  [0, 24],
  [B, 8],
  [A, 8],
  [B | L, 6],
  [A | L, 6],
  [B | L | ID, 4],
  [A | ID, 4],
  [P, 6],
  [P | A | L, 3],
  [M, 2],
  [R, 2],
  [B | A, 2],
];

type OpKind = CommonOpKind | 'cgroup_delete' | 'cgroup_create';

const OPS: readonly (readonly [OpKind, number])[] = [
  ['prog_attach', 28],
  ['link_create', 14],
  ['prog_detach', 12],
  ['query', 14],
  ['link_update', 6],
  ['link_detach', 4],
  ['link_close', 4],
  ['link_info', 4],
  ['prog_close', 2],
  ['cgroup_delete', 3],
  ['cgroup_create', 3],
  ['bulk_fill', 8],
];

/** Query arrays: the ids alone (what an effective query can take), or no ids at all. */
const ONLY_PROG_IDS: QueryArrayName[] = ['prog_ids'];
const NO_PROG_IDS: QueryArrayName[] = ['link_ids', 'prog_attach_flags'];

const SKB_PROGS = 5;
/** One past the limit of 64 programs a list holds. */
const BULK_PROGS = 65;

/** One cgroup sequence under construction, with each list as the emulator reports it after its steps. */
class CgroupBuilder extends SequenceBuilder<OpKind> {
  readonly cgroups: CgroupDecl[] = [];
  /** Every cgroup name a step may name, declared or made later. */
  readonly names: string[] = [];
  /** The list each link was created for. */
  private readonly linkPoint = new Map<string, { cgroup: string; attachType: number }>();
  private results: StepResult[] = [];
  private lists = new Map<string, ListState>();
  private alive = new Set<string>();

  constructor(rng: Rng, opts: GenerateOptions, name: string) {
    super(rng, opts, name, OPS);
    this.declare({ name: 'c0', parent: null });
    this.declare({ name: 'c1', parent: rng.chance(0.7) ? 'c0' : null });
    if (rng.chance(0.5)) this.declare({ name: 'c2', parent: rng.pick(['c0', 'c1']) });
    for (let i = 0; i < SKB_PROGS; i++) this.programs.push({ name: `p${i}`, type: 'cgroup_skb' });
    for (let i = 0; i < 2; i++) this.programs.push({ name: `g${i}`, type: 'cgroup_sockopt', expected_attach_type: GS });
    this.declareMaps(cgroupSequenceMaps);
    this.declareBulk(0.15, BULK_PROGS, 'cgroup_skb');
    this.declareForeign(['sched_cls', 'xdp']);
    this.refresh();
  }

  private declare(c: CgroupDecl): void {
    this.cgroups.push(c);
    this.names.push(c.name);
  }

  sequence(steps: Step[] = this.steps): Sequence {
    return this.sequenceWith(steps, { devices: [], cgroups: this.cgroups });
  }

  /** Replays the steps with a query of every cgroup and attach type appended: what each holds. */
  refresh(): void {
    const points = this.names.flatMap((cgroup) => [IN, EG, GS].map((attachType) => ({ cgroup, attachType })));
    const probes: QueryStep[] = points.map((p) => ({
      op: 'query',
      dev: { cgroup: p.cgroup },
      attach_type: p.attachType,
      count: 64,
      query_flags: 0,
      attach_flags: 0,
    }));
    const seq = this.sequence([...this.steps, ...probes]);
    const all = normalise(seq, runOnEmulator(seq, this.opts.profile));
    this.results = all.slice(0, this.steps.length);
    this.lists = new Map();
    this.alive = new Set();
    points.forEach((p, i) => {
      const q = all[this.steps.length + i]!.query;
      if (!q) return; // removed, or never made
      this.alive.add(p.cgroup);
      this.lists.set(key(p), { ...p, progs: (q.prog_ids ?? []).map((id) => id ?? '?'), mode: q.attach_flags, revision: q.revision });
      this.sizes.add(q.count);
    });
  }

  protected succeeded(i: number): boolean {
    return this.results[i]!.ok;
  }

  // ---- what the state offers ----

  /** A list: mostly one in use, else any cgroup (removed ones too, now and then) and type. */
  list(): ListState {
    const used = [...this.lists.values()].filter((l) => l.progs.length > 0);
    if (used.length > 0 && this.rng.chance(0.55)) return this.rng.pick(used);
    const alive = this.names.filter((n) => this.alive.has(n));
    const cgroup = alive.length > 0 && this.rng.chance(0.95) ? this.rng.pick(alive) : this.rng.pick(this.names);
    const attachType = this.rng.weighted([
      [IN, 6],
      [EG, 2],
      [GS, 2],
    ] as const);
    return this.lists.get(key({ cgroup, attachType })) ?? { cgroup, attachType, progs: [], mode: 0, revision: 1 };
  }

  target(list: ListState): DevRef {
    if (this.rng.chance(0.03)) return { cgroupFd: this.rng.pick([0, 1, 2, 3, 999, 2000000]) };
    return { cgroup: list.cgroup };
  }

  /** A program for `list`: mostly of its type and not there yet. */
  prog(list: ListState): string {
    const ofType = this.regularProgs().filter((p) => (list.attachType === GS) === p.startsWith('g'));
    const fresh = ofType.filter((p) => !list.progs.includes(p));
    if (fresh.length > 0 && this.rng.chance(0.8)) return this.rng.pick(fresh);
    return this.rng.pick(this.rng.chance(0.9) ? ofType : this.regularProgs());
  }

  /** A relative for `flags`: a program or link of the list, by id or fd as the flags say. */
  relative(list: ListState, flags: number): Ref | null {
    const wants = flags & (B | A | ID | L);
    if (!wants && !this.rng.chance(0.05)) return null;
    if (wants && this.rng.chance(0.15)) return null;
    if (this.rng.chance(0.08)) return { value: this.rng.pick([0, 1, 3, 999, 0x7fffffff]) };
    const wantLink = ((flags & L) !== 0) !== this.rng.chance(0.12);
    const here = wantLink ? this.openLinks().filter((l) => key(this.linkPoint.get(l)!) === key(list)) : list.progs.filter((p) => p !== '?');
    const anywhere = wantLink ? this.links : this.regularProgs();
    const pool = here.length > 0 && this.rng.chance(0.85) ? here : anywhere;
    if (pool.length === 0) return { value: 0 };
    return this.reference(this.rng.pick(pool), (flags & ID) !== 0);
  }

  /** The lists by kind, for the reference probes: the inet ones (cgroup_skb), getsockopt's. */
  protected refPoints(): RefPoint[][] {
    const own = this.regularProgs();
    const at = (types: number[], progs: string[]) =>
      this.names.flatMap((cgroup) => types.map((attach_type) => ({ dev: { cgroup }, attach_type, mode: M, progs })));
    return [
      at(
        [IN, EG],
        own.filter((p) => p.startsWith('p')),
      ),
      at(
        [GS],
        own.filter((p) => p.startsWith('g')),
      ),
    ];
  }

  // ---- one decision ----

  protected make(op: Exclude<OpKind, 'bulk_fill'>): Step | null {
    const rng = this.rng;
    switch (op) {
      case 'prog_attach': {
        const list = this.list();
        // The mode of the list most of the time, so that attaches succeed and lists grow.
        const mode = list.progs.length > 0 && rng.chance(0.8) ? list.mode : rng.weighted(MODES);
        const flags = (mode | rng.weighted(POSITIONS)) >>> 0;
        const replace = flags & R ? this.replaceRef(list) : null;
        return {
          op,
          prog: this.prog(list),
          dev: this.target(list),
          attach_type: list.attachType,
          flags,
          relative: this.relative(list, flags),
          replace,
          expected_revision: this.expectedRevision(list.revision),
        };
      }
      case 'link_create': {
        const list = this.list();
        const link = `l${this.links.length}`;
        this.links.push(link);
        this.linkPoint.set(link, { cgroup: list.cgroup, attachType: list.attachType });
        const flags = rng.weighted(LINK_FLAGS);
        return {
          op,
          link,
          prog: this.prog(list),
          dev: this.target(list),
          attach_type: list.attachType,
          flags,
          relative: this.relative(list, flags),
          expected_revision: this.expectedRevision(list.revision),
        };
      }
      case 'prog_detach': {
        const list = this.list();
        const prog = list.progs.length > 0 && rng.chance(0.75) ? rng.pick(list.progs) : rng.chance(0.4) ? null : rng.pick(this.regularProgs());
        const flags = rng.weighted([
          [0, 40],
          [B, 2],
          [M, 2],
          [R, 1],
        ]);
        return {
          op,
          prog: prog === '?' ? null : prog,
          dev: this.target(list),
          attach_type: list.attachType,
          flags,
          relative: rng.chance(0.04) ? this.relative(list, B) : null,
          expected_revision: this.expectedRevision(list.revision),
        };
      }
      case 'query': {
        const list = this.list();
        const effective = rng.chance(0.45);
        return {
          op,
          dev: this.target(list),
          attach_type: list.attachType,
          count: queryCount(rng),
          query_flags: effective ? BPF_F_QUERY_EFFECTIVE : rng.chance(0.02) ? 2 : 0,
          attach_flags: rng.chance(0.02) ? 2 : 0,
          // prog_attach_flags with an effective query is EINVAL: mostly leave it out then.
          ...(effective && rng.chance(0.9) ? { arrays: ONLY_PROG_IDS } : rng.chance(0.1) ? { arrays: NO_PROG_IDS } : {}),
        };
      }
      case 'link_update': {
        const open = this.openLinks();
        const link = open.length > 0 && rng.chance(0.85) ? rng.pick(open) : rng.pick(this.links);
        const point = this.linkPoint.get(link)!;
        const list = this.lists.get(key(point)) ?? { ...point, progs: [], mode: M, revision: 1 };
        const flags = rng.weighted([
          [0, 60],
          [R, 30],
          [B, 5],
        ]);
        const old = flags & R || rng.chance(0.1) ? rng.pick(this.regularProgs()) : null;
        return { op, link, prog: this.prog(list), old_prog: old, flags };
      }
      case 'link_detach':
      case 'link_close':
      case 'link_info': {
        const open = this.openLinks();
        return { op, link: open.length > 0 && rng.chance(0.85) ? rng.pick(open) : rng.pick(this.links) };
      }
      case 'prog_close':
        return { op, prog: rng.pick(this.regularProgs()) };
      case 'cgroup_delete': {
        // Leaves mostly: a cgroup with a child is EBUSY, which is a rule too.
        const alive = this.names.filter((n) => this.alive.has(n));
        return alive.length > 0 ? { op, cgroup: rng.pick(alive) } : null;
      }
      case 'cgroup_create': {
        const dead = this.names.filter((n) => !this.alive.has(n));
        const name = dead.length > 0 && rng.chance(0.6) ? rng.pick(dead) : `n${this.names.length}`;
        if (!this.names.includes(name)) this.names.push(name);
        const parents = this.names.filter((n) => n !== name);
        return { op, name, parent: rng.chance(0.3) || parents.length === 0 ? null : rng.pick(parents) };
      }
    }
  }

  replaceRef(list: ListState): Ref {
    if (this.rng.chance(0.1)) return { value: this.rng.pick([0, 3, 999]) };
    const pool = list.progs.length > 0 && this.rng.chance(0.8) ? list.progs : this.regularProgs();
    return { fd: this.rng.pick(pool) };
  }

  /** Fills one list to 62..65 programs in one decision (multi mode, appended or prepended). */
  protected bulkFill(): void {
    let list = this.list();
    if (list.attachType === GS)
      list = this.lists.get(key({ cgroup: list.cgroup, attachType: IN })) ?? { ...list, attachType: IN, progs: [], mode: 0, revision: 1 };
    const target = this.rng.between(62, 65);
    const flags =
      M |
      this.rng.weighted([
        [0, 3],
        [B, 1],
        [P, 1],
      ]);
    const steps: Step[] = this.bulkProgs.slice(0, Math.max(0, target - list.progs.length)).map((prog) => ({
      op: 'prog_attach',
      prog,
      dev: { cgroup: list.cgroup },
      attach_type: list.attachType,
      flags,
      relative: null,
      replace: null,
      expected_revision: 0,
    }));
    this.push(...steps);
  }
}

function key(p: { cgroup: string; attachType: number }): string {
  return `${p.cgroup}/${p.attachType}`;
}

/** One cgroup sequence, `rng` already seeded for it. */
export function generateCgroupSequence(rng: Rng, opts: GenerateOptions, name: string): Generated {
  return build(new CgroupBuilder(rng, opts, name));
}
