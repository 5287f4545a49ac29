// What the tcx and cgroup generators share: the options of a run, one sequence under
// construction (its programs, steps and links, and whether each step succeeded on the emulator),
// the draw of the next decision, and the choices both make the same way (revisions, references,
// programs outside a bulk fill, the reference dimension's objects and draws). Each generator adds its objects, its ops and its picture of the
// state (tcx-generator.ts, cgroup-generator.ts); generate.ts picks one per sequence.

import type { Profile } from '../../emulator/profiles.js';
import type { MapDecl, ProgramDecl, ProgramType, Ref, Sequence, Step } from '../../contract/seq.js';
import { drawOp, linkOpWeight } from './op-choice.js';
import { attrRng, withAttr } from './attr-choice.js';
import { capsRng, sequenceCaps, withCaps } from './caps-choice.js';
import { mapsRng, storageUpdate } from './maps-choice.js';
import type { CapabilityName } from '../../uapi/capability.js';
import { type RefPoint, type RefPools, foreignPrograms, probeNow, referenceProbe, refRng } from './reference-choice.js';
import type { Rng } from './rng.js';

/** The ops both generators draw (each adds its attach point's world changes): bpf(2) steps, closes, and a bulk fill. */
export type CommonOpKind =
  | 'prog_attach'
  | 'prog_detach'
  | 'link_create'
  | 'link_update'
  | 'link_detach'
  | 'link_close'
  | 'link_info'
  | 'prog_close'
  | 'query'
  | 'bulk_fill';

export interface GenerateOptions {
  /** The emulator profile whose answers steer the generator. */
  profile: Profile;
  /** Generator decisions per sequence; a bulk fill (tens of attaches) is one decision. */
  maxSteps: number;
  /** Whether the target can create netkit devices. */
  netkit: boolean;
  /** Whether the target has the clsact/ingress qdiscs (tcx sequences then add and delete some); default yes. */
  qdiscs?: boolean;
  /** Whether sequences may fill an entry to its limit (needs 60+ programs loaded per sequence). */
  bulk: boolean;
  /** Whether some sequences are about cgroups (cgroup-generator.ts): the kernel has their mprog API. */
  cgroups?: boolean;
  /** Exactly maxSteps decisions (benchmarks); otherwise 1..maxSteps. */
  fixedLength?: boolean;
  /** Whether bpf(2) steps now and then carry attr_size and raw bytes (attr-choice.ts); default yes. */
  attr?: boolean;
  /** Whether sequences and steps now and then name their caller's capabilities (caps-choice.ts); default yes. */
  caps?: boolean;
  /** Whether some sequences are about the flow dissector (flow-dissector-generator.ts); default yes. */
  flowDissector?: boolean;
  /** Whether sequences now and then declare maps their programs use (maps-choice.ts); default yes. */
  maps?: boolean;
  /** Whether decisions are now and then followed by a reference probe (reference-choice.ts), with
   * the objects probes need declared; default yes. */
  references?: boolean;
  /** Ids the target's kernel used lately (idsOfWorld); raw numbers are drawn around them. */
  nearIds?: readonly number[];
  /** The id the target's kernel gave out next lately (world.nextLinkId; 0: unknown). */
  nextLinkId?: number;
}

export interface Generated {
  seq: Sequence;
  /** Every entry size (attached count of some attach point) the emulator saw after some step. */
  sizes: number[];
}

/** The ops every generator has besides its own: a bulk fill and the link commands. */
type SharedOp = 'bulk_fill' | 'link_update' | 'link_detach' | 'link_close' | 'link_info';

/** One sequence under construction, with the emulator's answers to its steps so far. */
export abstract class SequenceBuilder<Op extends string> {
  readonly programs: ProgramDecl[] = [];
  /** The maps the programs declared so far use (declareMaps), and the stream they were drawn from. */
  private maps: MapDecl[] = [];
  private mapsStream: Rng | null = null;
  readonly steps: Step[] = [];
  readonly links: string[] = [];
  readonly sizes = new Set<number>();
  /** The programs of a bulk fill, if this sequence has one. */
  protected bulkProgs: string[] = [];
  /** Programs and links only the reference probes name (reference-choice.ts; the probes' own
   * links too): apart from the generator's own, so that its choices among those are drawn as before. */
  readonly foreignProgs: ProgramDecl[] = [];
  readonly foreignLinks: string[] = [];
  /** The reference draws (reference-choice.ts), a stream of their own. */
  private refRngOf: Rng | null = null;
  private bulkDone = false;

  constructor(
    readonly rng: Rng,
    readonly opts: GenerateOptions,
    readonly name: string,
    private readonly ops: readonly (readonly [Op | SharedOp, number])[],
  ) {}

  /** The caps draws (caps-choice.ts), a stream of their own; the sequence's caller is drawn first. */
  private capsRng: Rng | null = null;
  private seqCapsDrawn = false;
  private seqCaps: CapabilityName[] | undefined;

  /** `{ caps }` of the sequence's caller when it has one (for sequence()). */
  protected callerFields(): { caps?: CapabilityName[] } {
    if (this.opts.caps === false) return {};
    if (!this.seqCapsDrawn) {
      this.capsRng ??= capsRng(this.name);
      this.seqCaps = sequenceCaps(this.capsRng);
      this.seqCapsDrawn = true;
    }
    return this.seqCaps ? { caps: this.seqCaps } : {};
  }

  /** The sequence as built so far. */
  abstract sequence(): Sequence;

  /** A sequence of this builder's programs and links with `steps`, and the devices and cgroups
   * its generator declares. */
  protected sequenceWith(steps: Step[], decls: Pick<Sequence, 'devices' | 'cgroups'>): Sequence {
    return {
      format: 'mprog-seq/1',
      name: this.name,
      file: `${this.name}.json`,
      ...decls,
      programs: [...this.programs, ...this.foreignProgs],
      steps,
      expects: steps.map(() => undefined),
      links: [...this.links, ...this.foreignLinks],
      ...this.mapFields(),
      ...this.callerFields(),
    };
  }
  /** Replays the steps on the emulator: what the next decisions are made on. */
  abstract refresh(): void;
  /** Whether step `i` succeeded on the emulator. */
  protected abstract succeeded(i: number): boolean;
  /** One step of `op` on the current state, or none when the state offers nothing for it. */
  protected abstract make(op: Exclude<Op | SharedOp, 'bulk_fill'>): Step | null;
  /** Fills one list to about its limit, in one decision. */
  protected abstract bulkFill(): void;

  /** How likely an op of this generator's own is now (by default its table's weight). */
  protected weightOf(_op: Op, base: number): number {
    return base;
  }

  /** The maps of the programs declared so far, drawn by `draw` from the maps stream (maps-choice.ts). */
  protected declareMaps(draw: (rng: Rng, programs: ProgramDecl[]) => MapDecl[]): void {
    if (this.opts.maps === false) return;
    this.mapsStream = mapsRng(this.name);
    this.maps = draw(this.mapsStream, this.programs);
  }

  /** After a decision of a sequence with maps, now and then an update of an open link (storageUpdate). */
  private updateForStorage(): void {
    if (this.maps.length === 0) return;
    const decls = new Map(this.programs.map((p) => [p.name, p]));
    const progOf = new Map(this.steps.flatMap((s, i) => (s.op === 'link_create' && this.succeeded(i) ? [[s.link, s.prog] as const] : [])));
    const links = this.openLinks().map((link) => ({ link, prog: decls.get(progOf.get(link)!)! }));
    const regular = new Set(this.regularProgs());
    const step = storageUpdate(
      this.mapsStream!,
      links,
      this.programs.filter((p) => regular.has(p.name)),
    );
    if (step) this.push(step);
  }

  /** `{ maps }` when the sequence has any (for sequence()). */
  protected mapFields(): { maps?: MapDecl[] } {
    return this.maps.length > 0 ? { maps: this.maps } : {};
  }

  /** With chance `share` (when bulk fills are on), `count` more programs of `type` for one bulk fill. */
  protected declareBulk(share: number, count: number, type: ProgramType): void {
    if (!this.opts.bulk || !this.rng.chance(share)) return;
    this.bulkProgs = Array.from({ length: count }, (_, i) => `b${i}`);
    for (const name of this.bulkProgs) this.programs.push({ name, type });
  }

  /** The attr draws (attr-choice.ts), a stream of their own so that every other choice is drawn
   * as it was before. */
  private attrRng: Rng | null = null;

  protected refs(): Rng {
    this.refRngOf ??= refRng(this.name);
    return this.refRngOf;
  }

  /** The attach points a probe may name, by kind (reference-choice.ts). */
  protected abstract refPoints(): RefPoint[][];

  /** Whether this sequence has reference probes. */
  protected get probes(): boolean {
    return this.opts.references !== false;
  }

  /** A program of each of `types`, which this generator's points do not take, for probes to name. */
  protected declareForeign(types: readonly ProgramType[]): void {
    if (this.probes) this.foreignProgs.push(...foreignPrograms(types));
  }

  push(...steps: Step[]): void {
    if (this.opts.attr !== false) {
      this.attrRng ??= attrRng(this.name);
      if (steps.length === 1) withAttr(this.attrRng, steps[0]!); // not the steps of a bulk fill
    }
    if (this.opts.caps !== false && steps.length === 1) {
      this.callerFields(); // the sequence's caller is the stream's first draw
      withCaps(this.capsRng!, steps[0]!);
    }
    this.steps.push(...steps);
    this.refresh();
  }

  /** One decision: a step, or a bulk fill; now and then a reference probe after it. */
  next(): void {
    this.decide();
    if (!this.probes || !probeNow(this.refs())) return;
    const probe = referenceProbe(this.refs(), this.refPools(), `r${this.foreignLinks.length}`, this.opts.nearIds ?? []);
    for (const step of probe) {
      if (step.op === 'link_create') this.foreignLinks.push(step.link);
      this.push(step);
    }
  }

  private decide(): void {
    const op = drawOp(this.rng, this.ops, (kind, w) => this.weight(kind, w));
    if (op === 'bulk_fill') {
      this.bulkDone = true;
      return this.bulkFill();
    }
    const step = this.make(op as Exclude<Op | SharedOp, 'bulk_fill'>);
    if (step) this.push(step);
    this.updateForStorage();
  }

  /** How likely `kind` is now: a bulk fill once, link commands mostly while some link is open. */
  private weight(kind: Op | SharedOp, base: number): number {
    switch (kind) {
      case 'bulk_fill':
        return this.bulkProgs.length > 0 && !this.bulkDone ? base : 0;
      case 'link_update':
      case 'link_detach':
      case 'link_close':
      case 'link_info':
        return linkOpWeight(this.links.length, this.openLinks().length, base);
      default:
        return this.weightOf(kind as Op, base);
    }
  }

  // ---- what the state offers ----

  /** The objects named by the steps `op` that succeeded. */
  protected succeededOn(op: 'link_create' | 'link_close' | 'link_detach' | 'prog_close'): string[] {
    return this.steps.flatMap((s, i) => (s.op === op && this.succeeded(i) ? [s.op === 'prog_close' ? s.prog : s.link] : []));
  }

  /** This generator's links whose creation succeeded and whose fd is still open. */
  openLinks(): string[] {
    const closed = new Set(this.succeededOn('link_close'));
    return this.succeededOn('link_create').filter((l) => !closed.has(l) && !this.foreignLinks.includes(l));
  }

  /** Every object a probe may name, by kind: the programs of each type, the closed ones; the
   * generator's open links, closed, detached, never created, and the foreign ones; the points. */
  private refPools(): RefPools {
    const closed = new Set(this.succeededOn('prog_close'));
    const byType = new Map<ProgramType, string[]>();
    for (const p of [...this.programs, ...this.foreignProgs]) {
      if (this.bulkProgs.includes(p.name) || closed.has(p.name)) continue;
      byType.set(p.type, [...(byType.get(p.type) ?? []), p.name]);
    }
    const created = this.succeededOn('link_create');
    const detached = this.succeededOn('link_detach');
    const open = this.openLinks().filter((l) => !detached.includes(l));
    return {
      points: this.refPoints(),
      progs: [...byType.values(), [...closed]],
      links: [open, this.succeededOn('link_close'), detached, this.links.filter((l) => !created.includes(l)), this.foreignLinks],
    };
  }

  /** The programs not loaded for a bulk fill. */
  regularProgs(): string[] {
    return this.programs.map((p) => p.name).filter((p) => !p.startsWith('b'));
  }

  /** An expected revision: mostly none or the current one, sometimes one off or the first. */
  expectedRevision(current: number): number {
    return this.rng.weighted([
      [0, 50],
      [current, 35],
      [Math.max(1, current - 1), 5],
      [current + 1, 5],
      [1, 5],
    ]);
  }

  /** `name` as the form asked for (by id or by fd), or now and then as the other form. */
  reference(name: string, byId: boolean): Ref {
    return byId !== this.rng.chance(0.12) ? { id: name } : { fd: name };
  }
}

/** The sequence `b` makes in its decisions: exactly maxSteps of them, or 1..maxSteps. */
export function build<Op extends string>(b: SequenceBuilder<Op>): Generated {
  const decisions = b.opts.fixedLength ? b.opts.maxSteps : b.rng.between(1, Math.max(1, b.opts.maxSteps));
  for (let i = 0; i < decisions; i++) b.next();
  return { seq: b.sequence(), sizes: [...b.sizes].sort((x, y) => x - y) };
}
