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
import type { KernelWorld } from '../../emulator/world.js';
import { writeReports } from '../conform/outputs.js';
import { sequencePlan } from '../conform/plan.js';
import { type Comparison, type Fault, type PlanRecord, RESULTS_FORMAT, type RecordedDivergence, type ResultRecord, type TargetPlan, outcomeOfFault } from '../conform/records.js';
import { type Report, buildReport } from '../conform/report.js';
import { faultOf, slug } from '../conform/run.js';
import { ResultsStore } from '../conform/store.js';
import { type StepDivergence, diffResults, diffStep } from '../diff.js';
import { BadInput } from '../errors.js';
import { writeReproducers } from '../fuzz/artifacts.js';
import { type GenerateOptions, generateSequence, idsOfWorld } from '../fuzz/generator.js';
import { IN_FLIGHT, targetHasNetkit } from '../fuzz/run.js';
import { sequenceToText } from '../fuzz/seqjson.js';
import { shrink } from '../fuzz/shrink.js';
import { normalise } from '../normalise.js';
import { pipelined } from '../pipelined.js';
import { runOnEmulator } from '../targets/emulator.js';

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

/** A run that cannot compare anything: no emulator profile for the base kernel. */
export class DiffSetupError extends Error {
  override name = 'DiffSetupError';
}

/** Which kernel a fault came from. */
class KernelFault extends Error {
  constructor(
    readonly side: 'base' | 'kernel',
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

interface KernelAnswers {
  base: StepResult[];
  kernel: StepResult[];
  /** left: base, right: kernel. */
  diff: StepDivergence[];
  baseWorld: KernelWorld | undefined;
  kernelWorld: KernelWorld | undefined;
}

/** Both kernels' normalised answers to one sequence, and where they differ. */
async function compareKernels(req: DiffRequest, seq: Sequence, crossCheck: boolean): Promise<KernelAnswers> {
  const ask = (side: 'base' | 'kernel') => req[side].run(seq, { crossCheck }).catch((err: unknown) => Promise.reject(new KernelFault(side, err)));
  const [base, kernel] = await Promise.all([ask('base'), ask('kernel')]);
  const b = normalise(seq, base);
  const k = normalise(seq, kernel);
  return { base: b, kernel: k, diff: diffResults(b, k), baseWorld: base.world, kernelWorld: kernel.world };
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
  if (diffStep(d.left, reference).length === 0) return tell(`behaviour changed: the base kernel answers as the emulator (profile ${profile.name}) does, the kernel under test does not`);
  if (diffStep(d.right, reference).length === 0) return tell(`model already wrong: the emulator (profile ${profile.name}) answers as the kernel under test, not as the base kernel`);
  return tell(`model already wrong: the emulator (profile ${profile.name}) answers as neither kernel`);
}

/** Every difference of `answers` with the emulator's answer beside it and what that says. */
function classifyAll(seq: Sequence, answers: KernelAnswers, profile: Profile): RecordedDivergence[] {
  const inBaseWorld = emulatorAnswers(seq, profile, answers.baseWorld);
  const inKernelWorld = emulatorAnswers(seq, profile, answers.kernelWorld);
  return answers.diff.map((d) => classify(d, inBaseWorld, inKernelWorld, profile));
}

/** The record of a sequence that got no answer from one of the kernels; a guest's console is kept. */
function faultRecord(req: DiffRequest, tp: TargetPlan, seq: Sequence, err: unknown, ms: number): ResultRecord {
  const side = err instanceof KernelFault ? err.side : null;
  const cause = err instanceof KernelFault ? err.cause : err;
  const found: Fault = faultOf(req.outDir, cause, `${side ?? 'diff'}--${seq.file}`);
  const fault: Fault = side ? { ...found, message: `${side} kernel ${side === 'base' ? req.baseName : req.kernelName}: ${found.message}` } : found;
  return { type: 'result', sequence: seq.file, name: seq.name, target: tp.spec, release: null, profile: null, outcome: outcomeOfFault(fault.kind), steps: seq.steps.length, divergences: [], expectFailures: [], fault, ms };
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

/** A sequence the kernels answer differently: shrunk (unless an earlier one showed the same difference), written, classified. */
async function difference(state: RunState, seq: Sequence, answers: KernelAnswers, ms: number): Promise<ResultRecord> {
  const { req, profile } = state;
  const log = req.log ?? (() => undefined);
  const keys = differenceKeys(answers.diff);
  const base = { type: 'result' as const, sequence: seq.file, name: seq.name, target: state.tp.spec, release: state.release, profile: profile.name, outcome: 'fail' as const, steps: seq.steps.length, expectFailures: [] };
  const where = `step ${answers.diff.map((d) => d.step).join(', ')}`;
  // A difference of the kernels shows again when the sequence runs alone. One that does not came
  // from the sequences in flight beside it (ids they took on one kernel only, named by a raw
  // number here): not a difference of the kernels, said but not counted.
  const alone = await compareKernels(req, seq, false).catch(() => null);
  if (!alone || ![...differenceKeys(alone.diff)].some((k) => keys.has(k))) {
    log(`${seq.file}: the kernels answered ${where} differently beside other sequences, not alone; not counted`);
    return { ...base, outcome: 'pass', divergences: [], ms, notes: [`answered ${where} differently beside other sequences, not when replayed alone (ids taken by the sequences in flight): not counted`] };
  }
  // Every difference here was shrunk before (one rule shows in many sequences): said, not shrunk again.
  const covering = state.findings.filter((f) => [...keys].some((k) => f.keys.has(k)));
  if ([...keys].every((k) => covering.some((f) => f.keys.has(k)))) {
    return { ...base, divergences: classifyAll(seq, answers, profile), ms, notes: covering.map((f) => `the same difference as ${f.sequence}, shrunk there: ${f.dir}`) };
  }
  log(`${seq.file}: the kernels differ at ${where}; shrinking against both...`);
  const stillDiffers = async (candidate: Sequence): Promise<boolean> => {
    try {
      const again = differenceKeys((await compareKernels(req, candidate, false)).diff);
      return [...again].some((k) => keys.has(k));
    } catch (err) {
      // A candidate a kernel cannot run shows nothing about this difference.
      if (err instanceof KernelFault) return false;
      throw err;
    }
  };
  const shrunk = await shrink(seq, stillDiffers);
  const minimal = { ...shrunk.seq, name: `${seq.name}-minimal`, description: `shrunk by mprog diff from ${seq.file}: ${req.baseName} and ${req.kernelName} answer it differently` };
  // Once more with the bpftool check on, as fuzz reports its findings.
  const final = await compareKernels(req, minimal, true);
  // The minimal sequence answered the same on the last replay: the original's differences are the finding.
  const divergences = final.diff.length ? classifyAll(minimal, final, profile) : classifyAll(seq, answers, profile);
  const dir = join(req.outDir, `difference-${state.findings.length + 1}-${slug(seq.name)}`);
  const written = writeReproducers(dir, minimal, seq);
  const details = { base: req.baseName, kernel: req.kernelName, profile: profile.name, diff: divergences, results: { base: final.base, kernel: final.kernel, emulator: emulatorAnswers(minimal, profile, final.baseWorld) }, worlds: { base: final.baseWorld ?? null, kernel: final.kernelWorld ?? null }, shellNote: written.shellNote };
  written.write('difference.json', `${JSON.stringify(details, null, 2)}\n`);
  state.findings.push({ keys, sequence: seq.file, dir });
  const notes = [
    `differs at ${where} of ${seq.steps.length}; shrunk to ${minimal.steps.length} steps (${shrunk.attempts} candidates tried on both kernels)`,
    `written: ${written.files.join(', ')}`,
    ...(written.shellNote ? [written.shellNote] : []),
    ...(final.diff.length ? [] : ['warning: the minimal sequence did not differ when replayed once more (a kernel may answer inconsistently): the steps shown are the original\'s']),
  ];
  for (const d of divergences) log(`  step ${d.step} (${d.op}): ${d.fields.map((f) => `${f.path}: base ${JSON.stringify(f.left)}, kernel ${JSON.stringify(f.right)}`).join('; ')} — ${d.verdict}`);
  return { ...base, divergences, ms, notes, blocks: [{ title: `minimal sequence (${minimal.steps.length} steps)`, text: sequenceToText(minimal) }] };
}

export interface DiffDone {
  report: Report;
  releases: { base: string; kernel: string };
}

/** The whole run: both kernels up, every sequence on both, each difference shrunk, every report written. */
export async function runKernelDiff(req: DiffRequest): Promise<DiffDone> {
  const [baseRelease, kernelRelease] = await Promise.all([
    req.base.kernel().catch((err: unknown) => Promise.reject(new KernelFault('base', err))),
    req.kernel.kernel().catch((err: unknown) => Promise.reject(new KernelFault('kernel', err))),
  ]);
  const profile = profileForRelease(baseRelease);
  if (!profile) throw new DiffSetupError(`no emulator profile for the base kernel's release ${baseRelease} (profiles cover 6.1 and later)`);
  // Netkit devices only where both kernels can make them, so both replay the same sequences.
  const netkit = (await targetHasNetkit(req.base, profile)) && (await targetHasNetkit(req.kernel, profile));
  const genOpts: GenerateOptions = { profile, maxSteps: req.maxSteps, netkit, bulk: true, nearIds: [] };
  const tp: TargetPlan = { spec: `diff:${req.baseName}..${req.kernelName}:${req.arch}`, kernel: `${req.baseName} vs ${req.kernelName}`, arch: req.arch };
  const state: RunState = { req, tp, profile, release: `${baseRelease} vs ${kernelRelease}`, findings: [] };
  const total = req.corpus.length + req.fuzz;
  // Generated sequences aim raw numbers at the base kernel's ids, known once answers come.
  const sequenceAt = (i: number): Sequence => (i < req.corpus.length ? req.corpus[i]! : generateSequence(req.seed, i - req.corpus.length, genOpts).seq);
  const sequences: Sequence[] = [];
  const records: ResultRecord[] = [];
  let started = Date.now();
  for await (const { item: seq, answer } of pipelined(sequenceAt, (i) => i < total, (s) => compareKernels(req, s, false), IN_FLIGHT)) {
    sequences.push(seq);
    const ms = Date.now() - started;
    started = Date.now();
    if (answer instanceof Error) {
      records.push(faultRecord(req, tp, seq, answer, ms));
      continue;
    }
    if (answer.baseWorld) {
      genOpts.nearIds = idsOfWorld(answer.baseWorld);
      genOpts.nextLinkId = answer.baseWorld.nextLinkId;
    }
    if (answer.diff.length === 0) {
      records.push({ type: 'result', sequence: seq.file, name: seq.name, target: tp.spec, release: state.release, profile: profile.name, outcome: 'pass', steps: seq.steps.length, divergences: [], expectFailures: [], ms });
      continue;
    }
    records.push(await difference(state, seq, answer, ms).catch((err: unknown) => faultRecord(req, tp, seq, err, ms)));
  }
  const plan: PlanRecord = { type: 'plan', format: RESULTS_FORMAT, shard: null, profile: profile.name, targets: [tp], sequences: sequences.map(sequencePlan), comparison: DIFF_COMPARISON };
  const store = ResultsStore.create(req.outDir, plan);
  if (store instanceof BadInput) throw store;
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
