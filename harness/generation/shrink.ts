// Shrinking a diverging sequence to a small one that still diverges. The test is the caller's
// ("does it still diverge?": fuzz asks a target and the emulator, diff two kernels) and runs on
// the real kernels, so the minimal sequence is one they really answer differently. Every candidate goes back through the parser (seqjson.rebuild): a candidate that
// would leave a reference dangling is repaired by dropping the steps that depend on what was
// removed, and one the parser still refuses is skipped.

import type { AttrFields, DevRef, ProgramDecl, Ref, Sequence, Step } from '../../contract/seq.js';
import { SEQ_DEFAULTS, SeqError } from '../sequences/parse.js';
import { letEventsIn } from '../../vm/runtime/lifetime.js';
import { rebuild } from '../sequences/write.js';

/** Whether a candidate still shows the divergence (false also when a kernel could not run it). */
export type StillDiverges = (seq: Sequence) => Promise<boolean>;

export interface ShrinkResult {
  seq: Sequence;
  /** Candidates tried on the target. */
  attempts: number;
}

/** Names a step binds: a link by link_create, a device pair by dev_create. */
function binds(step: Step): string[] {
  if (step.op === 'link_create') return [step.link];
  if (step.op === 'dev_create') return [step.name, step.peer];
  if (step.op === 'cgroup_create') return [step.name];
  return [];
}

function refName(ref: Ref | null): string[] {
  if (!ref || 'value' in ref) return [];
  return ['fd' in ref ? ref.fd : ref.id];
}

function devName(dev: DevRef): string[] {
  if ('name' in dev) return [dev.name];
  return 'cgroup' in dev ? [dev.cgroup] : [];
}

/** Names of objects and devices a step refers to (not the ones it binds). */
function mentions(step: Step): string[] {
  switch (step.op) {
    case 'prog_attach':
      return [step.prog, ...devName(step.dev), ...refName(step.relative), ...refName(step.replace)];
    case 'prog_detach':
      return [...(step.prog ? [step.prog] : []), ...devName(step.dev), ...refName(step.relative)];
    case 'link_create':
      return [step.prog, ...devName(step.dev), ...refName(step.relative)];
    case 'link_update':
      return [step.link, step.prog, ...(step.old_prog ? [step.old_prog] : [])];
    case 'link_detach':
    case 'link_close':
    case 'link_info':
      return [step.link];
    case 'prog_close':
      return [step.prog];
    case 'query':
      return devName(step.dev);
    case 'dev_create':
      return [];
    case 'dev_delete':
    case 'qdisc_add':
    case 'qdisc_delete':
      return [step.dev];
    case 'cgroup_create':
      return step.parent === null ? [] : [step.parent];
    case 'cgroup_delete':
      return [step.cgroup];
  }
}

/**
 * The steps after `edits` (index -> replacement step, or null to drop it), without every later
 * step that uses a name only an edited-away step bound (a dropped link_create's link, say).
 */
function editSteps(steps: readonly Step[], edits: ReadonlyMap<number, Step | null>): Step[] {
  const gone = new Set<string>();
  const kept: Step[] = [];
  steps.forEach((step, i) => {
    const edited = edits.has(i) ? edits.get(i)! : step;
    if (edited === null || mentions(edited).some((n) => gone.has(n))) {
      for (const name of binds(step)) gone.add(name);
      return;
    }
    for (const name of binds(step)) if (!binds(edited).includes(name)) gone.add(name);
    kept.push(edited);
  });
  return kept;
}

/** The steps left after removing `drop` (and what depended on them, see editSteps). */
export function withoutSteps(steps: readonly Step[], drop: Iterable<number>): Step[] {
  return editSteps(steps, new Map([...drop].map((i) => [i, null])));
}

/** Simpler variants of one step: fewer flags, plainer references, default values. */
function simplerSteps(step: Step): Step[] {
  const out: Step[] = [];
  if ('flags' in step && step.flags !== 0) {
    for (let bit = 1; bit !== 0 && bit <= step.flags; bit = (bit << 1) >>> 0) {
      if (step.flags & bit) out.push({ ...step, flags: (step.flags & ~bit) >>> 0 });
    }
  }
  if ('relative' in step && step.relative) {
    out.push({ ...step, relative: null });
    if ('id' in step.relative) out.push({ ...step, relative: { fd: step.relative.id } });
  }
  if (step.op === 'prog_attach' && step.replace) out.push({ ...step, replace: null });
  // The flow dissector dimension: the sequence's own netns instead of a raw fd.
  if ('dev' in step && typeof step.dev === 'object' && 'netnsFd' in step.dev) out.push({ ...step, dev: { netns: 'self' } } as Step);
  // A plain attach instead of a link: later uses of the link go with it (editSteps).
  if (step.op === 'link_create') {
    const { link: _link, attr_size: _size, raw: _raw, ...fields } = step; // another command's attr layout
    out.push({ ...fields, op: 'prog_attach', replace: null });
  }
  // The attr dimension: the step with the agent's own attr, or without its raw bytes.
  const attrFields = step as Step & AttrFields;
  if (attrFields.attr_size !== undefined || attrFields.raw !== undefined) {
    const { attr_size: _size, raw: _raw, ...plain } = attrFields;
    out.push(plain as Step);
    if (attrFields.raw !== undefined && attrFields.attr_size !== undefined) out.push({ ...plain, attr_size: attrFields.attr_size } as Step);
  }
  // The caller dimension: the step as the sequence's caller makes it.
  if (step.caps !== undefined) {
    const { caps: _caps, ...asSequence } = step;
    out.push(asSequence as Step);
  }
  if ('expected_revision' in step && step.expected_revision !== 0) out.push({ ...step, expected_revision: 0 });
  if (step.op === 'prog_detach' && step.prog !== null) out.push({ ...step, prog: null });
  if (step.op === 'link_update' && step.old_prog !== null) out.push({ ...step, old_prog: null });
  if (step.op === 'query') {
    if (step.count !== SEQ_DEFAULTS.queryCount) out.push({ ...step, count: SEQ_DEFAULTS.queryCount });
    if (step.query_flags !== 0) out.push({ ...step, query_flags: 0 });
    if (step.attach_flags !== 0) out.push({ ...step, attach_flags: 0 });
    if (step.arrays) {
      const { arrays: _arrays, ...all } = step;
      out.push(all);
    }
  }
  return out;
}

export interface ShrinkOptions {
  /** Candidates tried at most (default 2000). */
  maxAttempts?: number;
  /** Where a long shrink says how far it is, every few seconds (each candidate may boot a VM). */
  log?: (line: string) => void;
}

/** How often a shrink says how far it is. */
const PROGRESS_MS = 5000;

class Shrinker {
  attempts = 0;
  private readonly from: number;
  private said = Date.now();

  constructor(
    private seq: Sequence,
    private readonly stillDiverges: StillDiverges,
    private readonly opts: ShrinkOptions,
  ) {
    this.from = seq.steps.length;
  }

  get current(): Sequence {
    return this.seq;
  }

  /** Tries one candidate; adopts it when it is valid and still diverges. */
  private async attempt(parts: Parameters<typeof rebuild>[1]): Promise<boolean> {
    if (this.attempts >= (this.opts.maxAttempts ?? 2000)) return false;
    let candidate: Sequence;
    try {
      candidate = rebuild(this.seq, parts);
    } catch (err) {
      if (err instanceof SeqError) return false; // not a sequence: not a candidate
      throw err;
    }
    this.attempts++;
    await letEventsIn();
    const kept = await this.stillDiverges(candidate);
    if (kept) this.seq = candidate;
    this.progress();
    return kept;
  }

  private progress(): void {
    if (!this.opts.log || Date.now() - this.said < PROGRESS_MS) return;
    this.said = Date.now();
    this.opts.log(`shrinking: ${this.attempts} candidates tried, ${this.seq.steps.length} of the ${this.from} steps left so far`);
  }

  /** Removes chunks of steps, halving the chunk size (ddmin without the complement step). */
  async dropSteps(): Promise<boolean> {
    let changed = false;
    for (let chunk = Math.max(1, Math.floor(this.seq.steps.length / 2)); chunk >= 1; chunk = Math.floor(chunk / 2)) {
      // From the end: later steps depend on earlier ones, not the other way round.
      for (let start = this.seq.steps.length - chunk; start >= 0; start--) {
        const drop = new Set(Array.from({ length: chunk }, (_, k) => start + k));
        const steps = withoutSteps(this.seq.steps, drop);
        if (await this.attempt({ steps })) {
          changed = true;
          start = Math.min(start, this.seq.steps.length - chunk + 1);
        }
      }
    }
    return changed;
  }

  async simplifySteps(): Promise<boolean> {
    let changed = false;
    for (let i = 0; i < this.seq.steps.length; i++) {
      let again = true;
      while (again) {
        again = false;
        for (const simpler of simplerSteps(this.seq.steps[i]!)) {
          const steps = editSteps(this.seq.steps, new Map([[i, simpler]]));
          if (await this.attempt({ steps })) {
            changed = again = true;
            break;
          }
        }
      }
    }
    return changed;
  }

  /** Turns a dev_create into a device that exists from the start: one step fewer, same state after it. */
  async hoistDevices(): Promise<boolean> {
    let changed = false;
    for (let i = this.seq.steps.length - 1; i >= 0; i--) {
      const step = this.seq.steps[i];
      if (step?.op !== 'dev_create') continue;
      const devices = [...this.seq.devices, { name: step.name, kind: step.kind, peer: step.peer }];
      const steps = this.seq.steps.filter((_, j) => j !== i);
      if (await this.attempt({ devices, steps })) changed = true;
    }
    return changed;
  }

  /** Drops programs and devices no step uses (the parser refuses the candidate if one is used). */
  async dropDeclarations(): Promise<boolean> {
    // Names, not objects: every adopted candidate is a freshly parsed sequence.
    const used = new Set(this.seq.steps.flatMap(mentions));
    const unused = this.seq.programs.filter((p) => !used.has(p.name));
    // All unused programs at once first (a bulk fill leaves dozens); one by one if that changes the answer.
    let changed = unused.length > 1 && (await this.attempt({ programs: this.seq.programs.filter((p) => used.has(p.name)) }));
    for (const name of this.seq.programs.map((p) => p.name).reverse()) {
      if (await this.attempt({ programs: this.seq.programs.filter((p) => p.name !== name) })) changed = true;
    }
    for (const name of this.seq.devices.map((d) => d.name).reverse()) {
      if (await this.attempt({ devices: this.seq.devices.filter((d) => d.name !== name) })) changed = true;
    }
    if (await this.dropMaps()) changed = true;
    // A sequence's caller back to root.
    if (this.seq.caps !== undefined && (await this.attempt({ caps: undefined }))) changed = true;
    // Cgroups nothing names, children first (the parser refuses a parent gone before its child).
    for (const name of (this.seq.cgroups ?? []).map((c) => c.name).reverse()) {
      if (!used.has(name) && (await this.attempt({ cgroups: this.seq.cgroups!.filter((c) => c.name !== name) }))) changed = true;
    }
    return changed;
  }

  /** Each program's map references one by one (one the divergence needs stays: a storage a link
   * update compares, two of a type the verifier refuses), then the maps no program references. */
  async dropMaps(): Promise<boolean> {
    let changed = false;
    for (const { name, maps } of this.seq.programs) {
      for (const map of [...(maps ?? [])].reverse()) {
        const programs = this.seq.programs.map((p) => (p.name === name ? withoutMap(p, map) : p));
        if (await this.attempt({ programs })) changed = true;
      }
    }
    const referenced = new Set(this.seq.programs.flatMap((p) => p.maps ?? []));
    const maps = this.seq.maps?.filter((m) => referenced.has(m.name));
    if (maps && maps.length < this.seq.maps!.length && (await this.attempt({ maps }))) changed = true;
    return changed;
  }
}

/** A program without one of its map references. */
function withoutMap(p: ProgramDecl, map: string): ProgramDecl {
  const maps = p.maps?.filter((m) => m !== map);
  const { maps: _maps, ...rest } = p;
  return maps?.length ? { ...rest, maps } : rest;
}

/** Shrinks `seq` while `stillDiverges` holds. */
export async function shrink(seq: Sequence, stillDiverges: StillDiverges, opts: ShrinkOptions = {}): Promise<ShrinkResult> {
  const s = new Shrinker(seq, stillDiverges, opts);
  for (;;) {
    const dropped = await s.dropSteps();
    const simplified = (await s.simplifySteps()) || (await s.hoistDevices());
    const undeclared = await s.dropDeclarations();
    if (!dropped && !simplified && !undeclared) break;
  }
  return { seq: s.current, attempts: s.attempts };
}
