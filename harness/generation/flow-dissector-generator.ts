// Generated flow dissector sequences (spec "The flow dissector"): a netns-wide attach point of one
// program, reached by BPF_PROG_ATTACH/DETACH (target_fd 0), BPF_LINK_CREATE and BPF_PROG_QUERY on
// the sequence's netns. The mprog fields (BEFORE/AFTER/ID/LINK flags, relative_fd,
// expected_revision, replace) are set often, since the syscall's checks for a type that is not
// mprog are what this family exercises; now and then a target is a raw fd.

import type { RefPoint } from './reference-choice.js';
import { normalise } from '../replay/normalise.js';
import { runOnEmulator } from '../targets/emulator.js';
import type { DevRef, QueryStep, Ref, Sequence, Step, StepResult } from '../../contract/seq.js';
import { BPF_F_AFTER, BPF_F_ALLOW_MULTI, BPF_F_BEFORE, BPF_F_ID, BPF_F_LINK, BPF_F_REPLACE, BPF_FLOW_DISSECTOR } from '../../uapi/bpf.js';
import type { Rng } from './rng.js';
import { queryCount } from './op-choice.js';
import { type CommonOpKind, type GenerateOptions, type Generated, SequenceBuilder, build } from './sequence-builder.js';

const OPS: readonly (readonly [CommonOpKind, number])[] = [
  ['prog_attach', 10],
  ['prog_detach', 6],
  ['link_create', 6],
  ['query', 6],
  ['link_update', 4],
  ['link_detach', 3],
  ['link_close', 3],
  ['link_info', 3],
  ['prog_close', 1],
];

/** Flags: mostly none, else a base flag (the netns refuses it) or an mprog one (the syscall does). */
const FLAGS: readonly (readonly [number, number])[] = [
  [0, 12],
  [BPF_F_ALLOW_MULTI, 2],
  [BPF_F_REPLACE, 1],
  [BPF_F_BEFORE, 2],
  [BPF_F_AFTER | BPF_F_ID, 1],
  [BPF_F_LINK, 1],
];

/** Raw target fds: stdio, the first programs, none. */
const RAW_FDS = [0, 1, 3, 4, 999];

/** One flow dissector sequence under construction, with what the netns holds after its steps. */
class FlowDissectorBuilder extends SequenceBuilder<CommonOpKind> {
  private results: StepResult[] = [];
  /** The program the netns runs now (attached directly or through a link), or null. */
  private attached: string | null = null;

  constructor(rng: Rng, opts: GenerateOptions, name: string) {
    super(rng, opts, name, OPS);
    for (const p of ['f0', 'f1', 'f2']) this.programs.push({ name: p, type: 'flow_dissector' });
    this.programs.push({ name: 's0', type: 'sched_cls' });
    this.refresh();
  }

  sequence(steps: Step[] = this.steps): Sequence {
    return this.sequenceWith(steps, { devices: [] });
  }

  /** Replays the steps with a query of the netns appended: what it runs now. */
  refresh(): void {
    const probe: QueryStep = { op: 'query', dev: { netns: 'self' }, attach_type: BPF_FLOW_DISSECTOR, count: 64, query_flags: 0, attach_flags: 0 };
    const seq = this.sequence([...this.steps, probe]);
    const all = normalise(seq, runOnEmulator(seq, this.opts.profile));
    this.results = all.slice(0, this.steps.length);
    const q = all[this.steps.length]!.query;
    this.attached = q?.prog_ids?.[0] ?? null;
    this.sizes.add(q?.count ?? 0);
  }

  /** A probe's one point here: the sequence's netns, for its flow dissector programs. */
  protected refPoints(): RefPoint[][] {
    return [[{ dev: { netns: 'self' }, attach_type: BPF_FLOW_DISSECTOR, mode: 0, progs: ['f0', 'f1', 'f2'] }]];
  }

  protected succeeded(i: number): boolean {
    return this.results[i]!.ok;
  }

  private target(): DevRef {
    return this.rng.chance(0.05) ? { netnsFd: this.rng.pick(RAW_FDS) } : { netns: 'self' };
  }

  /** Mostly a flow dissector program, the attached one for a detach; now and then the sched_cls one. */
  private prog(forDetach: boolean): string {
    if (forDetach && this.attached && this.rng.chance(0.7)) return this.attached;
    return this.rng.chance(0.08) ? 's0' : this.rng.pick(['f0', 'f1', 'f2']);
  }

  /** A relative_fd: none most of the time, else a program or link, or a raw number. */
  private relative(): Ref | null {
    if (!this.rng.chance(0.2)) return null;
    if (this.rng.chance(0.3)) return { value: this.rng.pick([1, 3, 999]) };
    return this.reference(this.rng.pick([...this.regularProgs(), ...this.links]), false);
  }

  private expectedRevisionOrNone(): number {
    return this.rng.chance(0.15) ? this.rng.between(1, 3) : 0;
  }

  private attachType(): number {
    return this.rng.chance(0.05) ? this.rng.pick([36, 46]) : BPF_FLOW_DISSECTOR; // sk_lookup, tcx_ingress
  }

  protected make(op: CommonOpKind): Step | null {
    const rng = this.rng;
    switch (op) {
      case 'prog_attach':
        return {
          op,
          prog: this.prog(false),
          dev: this.target(),
          attach_type: this.attachType(),
          flags: rng.weighted(FLAGS),
          relative: this.relative(),
          replace: rng.chance(0.1) ? { fd: this.prog(true) } : null,
          expected_revision: this.expectedRevisionOrNone(),
        };
      case 'prog_detach':
        return {
          op,
          prog: rng.chance(0.05) ? null : this.prog(true),
          dev: this.target(),
          attach_type: this.attachType(),
          flags: rng.weighted(FLAGS),
          relative: this.relative(),
          expected_revision: this.expectedRevisionOrNone(),
        };
      case 'link_create': {
        const link = `l${this.links.length}`;
        this.links.push(link);
        return {
          op,
          link,
          prog: this.prog(false),
          dev: this.target(),
          attach_type: this.attachType(),
          flags: rng.weighted(FLAGS),
          relative: this.relative(),
          expected_revision: this.expectedRevisionOrNone(),
        };
      }
      case 'link_update': {
        const replace = rng.chance(0.3);
        return {
          op,
          link: rng.pick(this.links),
          prog: this.prog(false),
          old_prog: replace ? this.prog(true) : null,
          flags: replace ? BPF_F_REPLACE : 0,
        };
      }
      case 'link_detach':
      case 'link_close':
      case 'link_info':
        return { op, link: rng.pick(this.openLinks().length && rng.chance(0.9) ? this.openLinks() : this.links) };
      case 'prog_close':
        return { op, prog: rng.pick(this.regularProgs()) };
      case 'query':
        return {
          op,
          dev: this.target(),
          attach_type: this.attachType(),
          count: queryCount(rng),
          query_flags: rng.chance(0.08) ? 1 : 0,
          attach_flags: 0,
        };
      case 'bulk_fill':
        return null; // one program at most: nothing to fill
    }
  }

  protected bulkFill(): void {}
}

/** One flow dissector sequence, `rng` already seeded for it. */
export function generateFlowDissectorSequence(rng: Rng, opts: GenerateOptions, name: string): Generated {
  return build(new FlowDissectorBuilder(rng, opts, name));
}
