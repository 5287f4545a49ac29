// `mprog diff`: the same sequences replayed on two kernels (a base and the kernel under test,
// usually the base with a patch), every step where the two answer differently, each difference
// shrunk against the two kernels to a minimal sequence with its reproducers, and beside it what
// the emulator's profile for the base kernel answers: the base answering as the model does
// means the patch changed that behaviour; the model answering otherwise than the base means
// the model was wrong already. Results go through conform's records and report writers.

import { join } from 'node:path';
import type { Sequence, StepResult } from '../../contract/seq.js';
import { type Target, TargetError } from '../../contract/target.js';
import { type Profile, profileForRelease } from '../../emulator/profiles.js';
import { ModelGapError } from '../../emulator/syscall.js';
import type { KernelWorld } from '../../contract/world.js';
import { writeReports } from '../results/writers/files.js';
import { sequencePlan } from '../conform/plan.js';
import {
  type Comparison,
  type Fault,
  type PlanRecord,
  RESULTS_FORMAT,
  type RecordedDivergence,
  type ResultRecord,
  type TargetPlan,
  faultRecord,
  outcomeOfFault,
} from '../results/records.js';
import { type Report, buildReport } from '../results/report.js';
import { faultOf, slug } from '../results/faults.js';
import { ResultsStore } from '../results/store.js';
import { type StepDivergence, diffResults, diffStep } from '../replay/step-diff.js';
import { writeReproducers } from '../reproducers/findings.js';
import { type GenerateOptions, generateSequence, idsOfWorld } from '../generation/generate.js';
import { IN_FLIGHT, NoProfileError, targetHasNetkit, targetHasQdiscs } from '../replay/compare.js';
import { sequenceToText } from '../sequences/write.js';
import { shrink } from '../generation/shrink.js';
import { normalise } from '../replay/normalise.js';
import { pipelined } from '../replay/pipelined.js';
import { runOnEmulator } from '../targets/emulator.js';
import { callTexts } from '../results/step-text.js';
import { shellWord } from '../reproducers/shell-quote.js';
import { matchWorlds } from './matching-world.js';
import { KernelFault, type Side, onSide } from './kernel-fault.js';

export const DIFF_COMPARISON: Comparison = {
  command: 'mprog diff',
  left: 'base',
  right: 'kernel',
  reference: 'emulator',
  same: 'no difference',
  differs: 'the kernels differ',
};

export interface DiffRequest {
  base: Target;
  kernel: Target;
  /** The kernels as the user named them, and their arch: for the reports. */
  baseName: string;
  kernelName: string;
  arch: string;
  corpus: Sequence[];
  /** Generated sequences after the corpus, from `seed`, of at most `maxSteps` decisions. */
  fuzz: number;
  seed: number;
  maxSteps: number;
  outDir: string;
  log?: (line: string) => void;
}

interface KernelAnswers {
  base: StepResult[];
  kernel: StepResult[];
  /** left: base, right: kernel. */
  diff: StepDivergence[];
  baseWorld: KernelWorld | undefined;
  kernelWorld: KernelWorld | undefined;
}

/** Both kernels' normalised answers to one sequence, and where they differ; a KernelFault when one gave none (the base's when both). */
async function compareKernels(req: DiffRequest, seq: Sequence, crossCheck: boolean): Promise<KernelAnswers> {
  const [base, kernel] = await Promise.allSettled([req.base.run(seq, { crossCheck }), req.kernel.run(seq, { crossCheck })]);
  if (base.status === 'rejected') throw new KernelFault('base', base.reason, kernel.status === 'fulfilled');
  if (kernel.status === 'rejected') throw new KernelFault('kernel', kernel.reason, true);
  const b = normalise(seq, base.value);
  const k = normalise(seq, kernel.value);
  return { base: b, kernel: k, diff: diffResults(b, k), baseWorld: base.value.world, kernelWorld: kernel.value.world };
}

/**
 * The same with nothing else in flight, both kernels first brought to the same world
 * (matching-world.ts): the objects of earlier sequences gone, the same next ids. `matched`
 * false: they could not be (a gap too wide), and the kernels answered in their own worlds.
 */
async function compareInMatchingWorld(req: DiffRequest, seq: Sequence, crossCheck: boolean): Promise<KernelAnswers & { matched: boolean }> {
  const matched = await matchWorlds(req.base, req.kernel);
  return { ...(await compareKernels(req, seq, crossCheck)), matched };
}

/** One line per differing field, without the step number: the same difference in another sequence has the same keys. */
function differenceKeys(diff: StepDivergence[]): Set<string> {
  return new Set(diff.flatMap((d) => d.fields.map((f) => `${d.op} ${f.path}: ${JSON.stringify(f.left)} -> ${JSON.stringify(f.right)}`)));
}

/** The emulator's answers (the base kernel's profile) in one kernel's world; null where it does not model a step. */
function emulatorAnswers(seq: Sequence, profile: Profile, world: KernelWorld | undefined): StepResult[] | null {
  try {
    return normalise(seq, runOnEmulator(seq, profile, world));
  } catch (err) {
    if (err instanceof ModelGapError) return null;
    throw err;
  }
}

/** What the emulator's answer says about one difference between the kernels. */
function classify(d: StepDivergence, inBaseWorld: StepResult[] | null, inKernelWorld: StepResult[] | null, profile: Profile): RecordedDivergence {
  const reference = inBaseWorld?.[d.step];
  if (!reference) return { ...d, verdict: `unknown: the emulator (profile ${profile.name}) does not model this sequence` };
  const tell = (verdict: string): RecordedDivergence => ({ ...d, reference, verdict });
  if (diffStep(reference, inKernelWorld?.[d.step]).length) {
    return tell(`the kernels' worlds differ: the emulator answers differently with each kernel's ids and outside objects`);
  }
  if (diffStep(d.left, reference).length === 0)
    return tell(`behaviour changed: the base kernel answers as the emulator (profile ${profile.name}) does, the kernel under test does not`);
  if (diffStep(d.right, reference).length === 0)
    return tell(`model already wrong: the emulator (profile ${profile.name}) answers as the kernel under test, not as the base kernel`);
  return tell(`model already wrong: the emulator (profile ${profile.name}) answers as neither kernel`);
}

/** Every difference of `answers` with the emulator's answer beside it and what that says. */
function classifyAll(seq: Sequence, answers: KernelAnswers, profile: Profile): RecordedDivergence[] {
  const inBaseWorld = emulatorAnswers(seq, profile, answers.baseWorld);
  const inKernelWorld = emulatorAnswers(seq, profile, answers.kernelWorld);
  const calls = callTexts(seq);
  return answers.diff.map((d) => ({ ...classify(d, inBaseWorld, inKernelWorld, profile), call: calls[d.step] }));
}

/** The record of a sequence that got no answer from one of the kernels; a guest's console is kept. */
function kernelFaultRecord(req: DiffRequest, tp: TargetPlan, seq: Sequence, err: unknown, ms: number): ResultRecord {
  const side = err instanceof KernelFault ? err.side : null;
  const cause = err instanceof KernelFault ? err.cause : err;
  const found: Fault = faultOf(req.outDir, cause, `${side ?? 'diff'}--${seq.file}`);
  const fault: Fault = side ? { ...found, message: `${side} kernel ${side === 'base' ? req.baseName : req.kernelName}: ${found.message}` } : found;
  return faultRecord(seq, tp, null, null, fault, ms);
}

interface Finding {
  keys: Set<string>;
  sequence: string;
  dir: string;
}

interface RunState {
  req: DiffRequest;
  tp: TargetPlan;
  profile: Profile;
  release: string;
  findings: Finding[];
}

/** The fields of a record of `seq` every outcome shares. */
function recordOf(state: RunState, seq: Sequence) {
  return {
    type: 'result' as const,
    sequence: seq.file,
    name: seq.name,
    target: state.tp.spec,
    release: state.release,
    profile: state.profile.name,
    steps: seq.steps.length,
    expectFailures: [],
  };
}

/**
 * Whether a difference seen in the run shows again in a matching world (the kernels' own
 * difference then), and how the kernels were asked; null: it did not.
 */
async function showsAgain(req: DiffRequest, seq: Sequence, keys: Set<string>): Promise<{ how: string } | null> {
  const again = await compareInMatchingWorld(req, seq, false).catch(() => null);
  if (!again || ![...differenceKeys(again.diff)].some((k) => keys.has(k))) return null;
  return {
    how: again.matched
      ? 'in a matching world (earlier objects gone, the same next ids)'
      : 'alone (the kernels could not be brought to the same next ids)',
  };
}

/**
 * A difference that did not show again: named as the worlds' when the emulator answers that
 * step otherwise in each kernel's world (not counted), else counted: no difference is dropped
 * because it would not repeat.
 */
function notRepeated(state: RunState, seq: Sequence, answers: KernelAnswers, where: string, ms: number): ResultRecord {
  const classified = classifyAll(seq, answers, state.profile);
  const worlds = classified.filter((d) => d.verdict?.startsWith("the kernels' worlds differ"));
  if (worlds.length === classified.length) {
    state.req.log?.(`${seq.file}: the kernels answered ${where} differently in different worlds, and not again in a matching one; not counted`);
    return {
      ...recordOf(state, seq),
      outcome: 'pass',
      divergences: [],
      ms,
      notes: [
        `answered ${where} differently in different worlds (ids and objects of the sequences beside it), not again in a matching world; the emulator answers it differently in each kernel's world: the worlds' difference, not counted`,
      ],
    };
  }
  return {
    ...recordOf(state, seq),
    outcome: 'fail',
    divergences: classified,
    ms,
    notes: [
      `answered ${where} differently, but not again in a matching world, and the emulator answers alike in both kernels' worlds: a kernel answers inconsistently (counted, not shrunk)`,
    ],
  };
}

/** A sequence the kernels answer differently: shown again, shrunk (unless an earlier one showed the same difference), written, classified. */
async function difference(state: RunState, seq: Sequence, answers: KernelAnswers, ms: number): Promise<ResultRecord> {
  const { req, profile } = state;
  const log = req.log ?? (() => undefined);
  const keys = differenceKeys(answers.diff);
  const base = { ...recordOf(state, seq), outcome: 'fail' as const };
  const where = `step ${answers.diff.map((d) => d.step).join(', ')}`;
  // Every difference here was shrunk before (one rule shows in many sequences): said, not shrunk again.
  const covering = state.findings.filter((f) => [...keys].some((k) => f.keys.has(k)));
  if ([...keys].every((k) => covering.some((f) => f.keys.has(k)))) {
    return {
      ...base,
      divergences: classifyAll(seq, answers, profile),
      ms,
      notes: covering.map((f) => `the same difference as ${f.sequence}, shrunk there: ${f.dir}`),
    };
  }
  const again = await showsAgain(req, seq, keys);
  if (!again) return notRepeated(state, seq, answers, where, ms);
  log(`${seq.file}: the kernels differ at ${where}, also ${again.how}; shrinking against both, each candidate so...`);
  const stillDiffers = async (candidate: Sequence): Promise<boolean> => {
    try {
      return [...differenceKeys((await compareInMatchingWorld(req, candidate, false)).diff)].some((k) => keys.has(k));
    } catch (err) {
      // A candidate a kernel cannot run shows nothing about this difference.
      if (err instanceof KernelFault) return false;
      throw err;
    }
  };
  const shrunk = await shrink(seq, stillDiffers, { log });
  const minimal = {
    ...shrunk.seq,
    name: `${seq.name}-minimal`,
    description: `shrunk by mprog diff from ${seq.file}: ${req.baseName} and ${req.kernelName} answer it differently`,
  };
  // Once more with the bpftool check on, as fuzz reports its findings.
  const final = await compareInMatchingWorld(req, minimal, true);
  // The minimal sequence answered the same on the last replay: the original's differences are the finding.
  const divergences = final.diff.length ? classifyAll(minimal, final, profile) : classifyAll(seq, answers, profile);
  const dir = findingDir(state, seq);
  const written = writeReproducers(dir, minimal, seq);
  const details = {
    base: req.baseName,
    kernel: req.kernelName,
    profile: profile.name,
    shown: again.how,
    diff: divergences,
    results: { base: final.base, kernel: final.kernel, emulator: emulatorAnswers(minimal, profile, final.baseWorld) },
    worlds: { base: final.baseWorld ?? null, kernel: final.kernelWorld ?? null },
    shellNote: written.shellNote,
  };
  written.write('difference.json', `${JSON.stringify(details, null, 2)}\n`);
  state.findings.push({ keys, sequence: seq.file, dir });
  const notes = [
    `differs at ${where} of ${seq.steps.length}; shown again ${again.how}; shrunk to ${minimal.steps.length} steps (${shrunk.attempts} candidates tried on both kernels)`,
    `written: ${written.files.join(', ')}`,
    ...(written.shellNote ? [written.shellNote] : []),
    ...(final.diff.length
      ? []
      : [
          "warning: the minimal sequence did not differ when replayed once more (a kernel may answer inconsistently): the steps shown are the original's",
        ]),
  ];
  for (const d of divergences)
    log(
      `  step ${d.step} (${d.op}): ${d.fields.map((f) => `${f.path}: base ${JSON.stringify(f.left)}, kernel ${JSON.stringify(f.right)}`).join('; ')} — ${d.verdict}`,
    );
  return {
    ...base,
    divergences,
    ms,
    notes,
    replay: replayCommands(req, join(dir, 'minimal.json')),
    blocks: [{ title: `minimal sequence (${minimal.steps.length} steps)`, text: sequenceToText(minimal) }],
  };
}

/** The commands that replay `file` on each kernel, as a user types them. */
function replayCommands(req: DiffRequest, file: string): string[] {
  return [req.baseName, req.kernelName].map((k) => `npx mprog replay --target ${shellWord(`qemu:${k}:${req.arch}`)} ${shellWord(file)}`);
}

/** Where the next finding's files go. */
function findingDir(state: RunState, seq: Sequence): string {
  return join(state.req.outDir, `difference-${state.findings.length + 1}-${slug(seq.name)}`);
}

/** Whether `seq` still crashes (or hangs) the kernel on `side` while the other answers it. */
async function crashesAlone(req: DiffRequest, seq: Sequence, side: Side): Promise<TargetError | null> {
  try {
    await compareKernels(req, seq, false);
    return null;
  } catch (err) {
    if (!(err instanceof KernelFault)) throw err;
    return err.side === side ? err.crashAlone : null;
  }
}

/**
 * A sequence that crashed or hung one kernel while the other answered, and did again alone: a
 * finding like a difference. Shrunk to the fewest steps that still crash that kernel alone (it
 * boots afresh after each), written with its reproducers and both kernels' consoles.
 */
async function crash(state: RunState, seq: Sequence, side: Side, first: TargetError, ms: number): Promise<ResultRecord> {
  const { req } = state;
  const log = req.log ?? (() => undefined);
  const name = side === 'base' ? req.baseName : req.kernelName;
  const kind = first.kind;
  const fault = new KernelFault(side, first, true);
  const key = `crash ${side} ${kind}`;
  const earlier = state.findings.find((f) => f.keys.has(key));
  if (earlier)
    return { ...kernelFaultRecord(req, state.tp, seq, fault, ms), notes: [`the same crash as ${earlier.sequence}, shrunk there: ${earlier.dir}`] };
  log(`${seq.file}: the ${side} kernel ${name} crashed (${kind}) and the other answered; shrinking...`);
  const shrunk = await shrink(seq, async (candidate) => (await crashesAlone(req, candidate, side)) !== null, { log });
  const minimal = {
    ...shrunk.seq,
    name: `${seq.name}-minimal`,
    description: `shrunk by mprog diff from ${seq.file}: it crashes ${name} (${kind}); the other kernel answers it`,
  };
  const final = await crashesAlone(req, minimal, side);
  const dir = findingDir(state, seq);
  const written = writeReproducers(dir, minimal, seq);
  const crashed = final ?? first;
  written.write(`console-${side}.log`, crashed.console ?? '(no console)\n');
  const other = side === 'base' ? req.kernel : req.base;
  written.write(`console-${side === 'base' ? 'kernel' : 'base'}.log`, other.console?.() ?? '(no console)\n');
  state.findings.push({ keys: new Set([key]), sequence: seq.file, dir });
  const record = kernelFaultRecord(req, state.tp, minimal, new KernelFault(side, crashed, true), ms);
  return {
    ...record,
    sequence: seq.file,
    name: seq.name,
    steps: seq.steps.length,
    notes: [
      `crashes the ${side} kernel ${name} (${kind}) while the other answers; shrunk to ${minimal.steps.length} steps (${shrunk.attempts} candidates tried on both kernels)`,
      ...(final ? [] : ["warning: the minimal sequence did not crash it when replayed once more: the console is the first crash's"]),
      `written: ${written.files.join(', ')}`,
      ...(written.shellNote ? [written.shellNote] : []),
    ],
    replay: replayCommands(req, join(dir, 'minimal.json')),
    blocks: [{ title: `minimal sequence (${minimal.steps.length} steps)`, text: sequenceToText(minimal) }],
  };
}

/** One sequence's answers in the run, or why there were none. */
interface Answered {
  seq: Sequence;
  answer: KernelAnswers | Error;
  ms: number;
}

/** The record of a sequence both kernels answered alike. */
function passRecord(state: RunState, seq: Sequence, ms: number): ResultRecord {
  return { ...recordOf(state, seq), outcome: 'pass', divergences: [], ms };
}

/** What one answer of the run comes to: a pass, a difference examined, a fault. */
async function examine(state: RunState, seq: Sequence, answer: KernelAnswers | Error, ms: number): Promise<ResultRecord> {
  const { req, tp } = state;
  if (answer instanceof Error) return kernelFaultRecord(req, tp, seq, answer, ms);
  if (answer.diff.length === 0) return passRecord(state, seq, ms);
  return difference(state, seq, answer, ms).catch((err: unknown) => kernelFaultRecord(req, tp, seq, err, ms));
}

/**
 * Every answer of the run examined in order, after it, with nothing else in flight: showing a
 * difference again, matching the worlds and shrinking each take both kernels to themselves.
 * A crash fails every sequence in flight on that kernel (the guest is retired with one fault):
 * each is asked again alone; the ones that crash it again are the finding; one that answers
 * counts by that answer. A crash none of them repeats is still recorded, on the first of them.
 */
async function examineAll(state: RunState, answered: Answered[]): Promise<ResultRecord[]> {
  const { req } = state;
  const records: ResultRecord[] = [];
  const firstOf = new Map<unknown, { index: number; fault: KernelFault; repeated: boolean }>();
  for (const { seq, answer, ms } of answered) {
    const crashed = answer instanceof KernelFault && answer.crashAlone ? answer : null;
    if (!crashed) {
      records.push(await examine(state, seq, answer, ms));
      continue;
    }
    const cause = firstOf.get(crashed.cause) ?? { index: records.length, fault: crashed, repeated: false };
    firstOf.set(crashed.cause, cause);
    const again = await compareKernels(req, seq, false).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    const crashedAgain = again instanceof KernelFault && again.side === crashed.side ? again.crashAlone : null;
    if (crashedAgain) {
      cause.repeated = true;
      records.push(await crash(state, seq, crashed.side, crashedAgain, ms).catch((err: unknown) => kernelFaultRecord(req, state.tp, seq, err, ms)));
      continue;
    }
    const record = await examine(state, seq, again, ms);
    const note = `was in flight when the ${crashed.side} kernel crashed (${crashed.crashAlone?.kind}); answered when asked again alone`;
    records.push({ ...record, notes: [note, ...(record.notes ?? [])] });
  }
  for (const { index, fault, repeated } of firstOf.values()) {
    if (repeated) continue;
    const r = records[index]!;
    const seq = answered[index]!.seq;
    records[index] = {
      ...kernelFaultRecord(req, state.tp, seq, fault, r.ms),
      notes: [`the ${fault.side} kernel crashed once with this and other sequences in flight, and not again when each was asked alone: not shrunk`],
    };
  }
  return records;
}

export interface DiffDone {
  report: Report;
  releases: { base: string; kernel: string };
}

/** The whole run: both kernels up, every sequence on both, each difference shrunk, every report written. */
export async function runKernelDiff(req: DiffRequest): Promise<DiffDone> {
  const [baseRelease, kernelRelease] = await Promise.all([onSide('base', req.base.kernel()), onSide('kernel', req.kernel.kernel())]);
  const profile = profileForRelease(baseRelease);
  if (!profile) throw new NoProfileError(`no emulator profile for the base kernel's release ${baseRelease} (profiles cover 6.1 and later)`);
  // Netkit devices only where both kernels can make them, so both replay the same sequences.
  const netkit = (await targetHasNetkit(req.base, profile)) && (await targetHasNetkit(req.kernel, profile));
  const qdiscs = (await targetHasQdiscs(req.base)) && (await targetHasQdiscs(req.kernel));
  // Cgroup sequences where both kernels have cgroup.c's mprog API, as fuzz makes them: without them
  // a patch to cgroup.c met no generated sequence.
  const cgroups = profile.cgroupMprog && (profileForRelease(kernelRelease)?.cgroupMprog ?? false);
  const genOpts: GenerateOptions = { profile, maxSteps: req.maxSteps, netkit, qdiscs, bulk: true, nearIds: [], cgroups };
  const tp: TargetPlan = {
    spec: `diff:${req.baseName}..${req.kernelName}:${req.arch}`,
    kernel: `${req.baseName} vs ${req.kernelName}`,
    arch: req.arch,
  };
  const state: RunState = { req, tp, profile, release: `${baseRelease} vs ${kernelRelease}`, findings: [] };
  const total = req.corpus.length + req.fuzz;
  // Generated sequences aim raw numbers at the base kernel's ids, known once answers come.
  const sequenceAt = (i: number): Sequence =>
    i < req.corpus.length ? req.corpus[i]! : generateSequence(req.seed, i - req.corpus.length, genOpts).seq;
  const sequences: Sequence[] = [];
  const answered: Answered[] = [];
  let started = Date.now();
  for await (const { item: seq, answer } of pipelined(
    sequenceAt,
    (i) => i < total,
    (s) => compareKernels(req, s, false),
    IN_FLIGHT,
  )) {
    sequences.push(seq);
    answered.push({ seq, answer, ms: Date.now() - started });
    started = Date.now();
    if (!(answer instanceof Error) && answer.baseWorld) {
      genOpts.nearIds = idsOfWorld(answer.baseWorld);
      genOpts.nextLinkId = answer.baseWorld.nextLinkId;
    }
  }
  const records = await examineAll(state, answered);
  const plan: PlanRecord = {
    type: 'plan',
    format: RESULTS_FORMAT,
    shard: null,
    profile: profile.name,
    targets: [tp],
    sequences: sequences.map(sequencePlan),
    comparison: DIFF_COMPARISON,
  };
  const store = ResultsStore.create(req.outDir, plan);
  for (const r of records) store.append(r);
  const report = buildReport([plan], records);
  writeReports(req.outDir, report);
  return { report, releases: { base: baseRelease, kernel: kernelRelease } };
}

/**
 * A kernel that could not come up at all: which one, its fault (console kept in outDir) and the
 * exit status it means: 3 for a crash, 2 for a kernel that cannot run (no tcx, no boot).
 */
export function kernelFault(outDir: string, err: unknown): { side: 'base' | 'kernel'; fault: Fault; status: 2 | 3 } | null {
  if (!(err instanceof KernelFault)) return null;
  if (!(err.cause instanceof TargetError)) throw err.cause;
  const fault = faultOf(outDir, err.cause, `${err.side}-kernel`);
  return { side: err.side, fault, status: outcomeOfFault(fault.kind) === 'crash' ? 3 : 2 };
}
