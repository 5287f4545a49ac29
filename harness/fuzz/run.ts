// The fuzz loop: generate a sequence, replay it on the target and on the in-process emulator,
// compare; on the first divergence shrink it against the target and write the reproducers.
// One open target serves the whole run (for a VM target: one boot for every sequence).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Profile, profileForRelease } from '../../emulator/profiles.js';
import { ModelGapError } from '../../emulator/syscall.js';
import type { KernelWorld } from '../../emulator/world.js';
import { type StepDivergence, diffResults } from '../diff.js';
import { normalise } from '../normalise.js';
import type { Sequence, StepResult } from '../../contract/seq.js';
import { EmulatorTarget, runOnEmulator } from '../targets/emulator.js';
import { type RunOptions, type Target, TargetError } from '../../contract/target.js';
import { Coverage, type CoverageReport } from './coverage.js';
import { type Generated, type GenerateOptions, generateSequence, idsOfWorld } from './generator.js';
import { pipelined } from '../pipelined.js';
import { writeReproducers } from './artifacts.js';
import { shrink } from './shrink.js';

export interface FuzzOptions {
  target: Target;
  seed: number;
  /** At most this many sequences. */
  sequences: number;
  /** Generator decisions per sequence. */
  maxSteps: number;
  /** Stop generating after this long (ms); the divergence found so far is still shrunk. */
  timeMs?: number;
  /** Where coverage.json and a divergence's artifacts go; nothing is written without it. */
  outDir?: string;
  /**
   * The emulator profile to compare with; by default the one of the target's kernel release.
   * Tests pass deliberately wrong profiles (mutants) here; the CLI only passes real ones.
   */
  profile?: Profile;
  /** What the emulator is told of the target's world; tests pass a mutant that forgets it. */
  worldView?: WorldView;
  log?: (line: string) => void;
}

/** What the emulator is told of the world of the kernel it is compared with. */
export type WorldView = (world: KernelWorld | undefined) => KernelWorld | undefined;
const wholeWorld: WorldView = (world) => world;

export interface DivergenceReport {
  /** Index of the generated sequence that diverged (its raw numbers also depend on the target's
   * ids at the time: `original` is the sequence as run). */
  index: number;
  original: Sequence;
  minimal: Sequence;
  shrinkAttempts: number;
  /** Both sides' results for the minimal sequence, and where they differ. */
  targetResults: StepResult[];
  emulatorResults: StepResult[];
  diff: StepDivergence[];
  /** The target's world for the minimal sequence, as the emulator saw it. */
  world: KernelWorld | undefined;
  /** Artifacts written (paths), and why there is no shell script when there is none. */
  files: string[];
  shellNote: string | null;
}

export interface FuzzReport {
  seed: number;
  target: string;
  kernel: string;
  profile: string;
  sequences: number;
  skipped: number;
  coverage: CoverageReport;
  divergence: DivergenceReport | null;
}

/** A fuzz run that cannot start: the target cannot be used for want of a profile (reported as the target's fault). */
export class FuzzSetupError extends TargetError {
  override name = 'FuzzSetupError';
  constructor(message: string) {
    super('unusable', message);
  }
}

/** The emulator profile for a target: the override, the emulator's own, or the one of its kernel release. */
export async function chooseProfile(target: Target, override: Profile | undefined): Promise<Profile> {
  if (override) return override;
  if (target instanceof EmulatorTarget) return target.profile;
  const kernel = await target.kernel();
  const profile = profileForRelease(kernel);
  if (!profile) throw new FuzzSetupError(`no emulator profile for kernel "${kernel}"; pass --profile`);
  return profile;
}

/** Whether the target has netkit (CONFIG_NETKIT), as its world says (the emulator: as its
 * profile says); sequences use netkit devices only then. */
export async function targetHasNetkit(target: Target, profile: Profile): Promise<boolean> {
  if (!profile.netkit) return false;
  const probe: Sequence = { format: 'mprog-seq/1', name: 'netkit-probe', file: 'netkit-probe', devices: [], programs: [], steps: [], expects: [], links: [] };
  return (await target.run(probe)).world?.netkit ?? profile.netkit;
}

/** Both sides' normalised results for one sequence. Generated sequences run without the
 * bpftool cross-check (too slow for every one); the ones that diverge are shrunk and reported
 * with it. */
export async function compare(
  target: Target,
  profile: Profile,
  seq: Sequence,
  runOpts: RunOptions = {},
  view: WorldView = wholeWorld,
): Promise<{ target: StepResult[]; emulator: StepResult[]; diff: StepDivergence[]; world: KernelWorld | undefined }> {
  const raw = await target.run(seq, runOpts);
  const onTarget = normalise(seq, raw);
  const onEmulator = normalise(seq, runOnEmulator(seq, profile, view(raw.world)));
  return { target: onTarget, emulator: onEmulator, diff: diffResults(onTarget, onEmulator), world: raw.world };
}

/** Generated sequences a target works on at once (see pipelined). */
export const IN_FLIGHT = 4;

type Answer = Awaited<ReturnType<typeof compare>>;

/** The generated sequences (index 0, 1, ... while `more(index)`) with both sides' answers, in order. */
export async function* answers(
  target: Target,
  profile: Profile,
  generate: (index: number) => Generated,
  more: (index: number) => boolean,
  view: WorldView = wholeWorld,
): AsyncGenerator<Generated & { index: number; answer: Answer | Error }> {
  const ask = (g: Generated) => compare(target, profile, g.seq, { crossCheck: false }, view);
  for await (const { index, item, answer } of pipelined(generate, more, ask, IN_FLIGHT)) yield { ...item, index, answer };
}

async function stillDiverges(target: Target, profile: Profile, seq: Sequence, view: WorldView): Promise<boolean> {
  try {
    return (await compare(target, profile, seq, {}, view)).diff.length > 0;
  } catch (err) {
    // A candidate the target or the model cannot run shows nothing about this divergence.
    if (err instanceof TargetError || err instanceof ModelGapError) return false;
    throw err;
  }
}

function describeDiff(diff: StepDivergence[]): string {
  return diff
    .map((d) => `  step ${d.step} (${d.op}): ${d.fields.map((f) => `${f.path}: target ${JSON.stringify(f.left)} vs emulator ${JSON.stringify(f.right)}`).join('; ')}`)
    .join('\n');
}

function writeArtifacts(outDir: string, d: Omit<DivergenceReport, 'files' | 'shellNote'>): { files: string[]; shellNote: string | null } {
  const written = writeReproducers(join(outDir, `divergence-${d.original.name}`), d.minimal, d.original);
  const { shellNote } = written;
  written.write('divergence.json', `${JSON.stringify({ diff: d.diff, target: d.targetResults, emulator: d.emulatorResults, world: d.world ?? null, shellNote }, null, 2)}\n`);
  return { files: written.files, shellNote };
}

export async function fuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? (() => undefined);
  const kernel = await opts.target.kernel();
  const profile = await chooseProfile(opts.target, opts.profile);
  const netkit = await targetHasNetkit(opts.target, profile);
  const coverage = new Coverage();
  const deadline = opts.timeMs === undefined ? Infinity : Date.now() + opts.timeMs;
  const view = opts.worldView ?? wholeWorld;
  // Raw numbers are drawn around the ids the target's kernel used last (known once answers come).
  const genOpts: GenerateOptions = { profile, maxSteps: opts.maxSteps, netkit, bulk: true, nearIds: [], cgroups: profile.cgroupMprog };
  log(`fuzz: seed ${opts.seed}, target ${opts.target.spec} (${kernel}), emulator profile ${profile.name}${netkit ? '' : ', no netkit on the target'}`);

  let divergence: DivergenceReport | null = null;
  let run = 0;
  let skipped = 0;
  const more = (index: number) => index < opts.sequences && Date.now() < deadline;
  for await (const { index, seq, sizes, answer } of answers(opts.target, profile, (i) => generateSequence(opts.seed, i, genOpts), more, view)) {
    if (answer instanceof Error) {
      if (!(answer instanceof ModelGapError)) throw answer;
      skipped++; // the generator made a step the emulator does not model: not a finding
      continue;
    }
    run++;
    if (answer.world) {
      genOpts.nearIds = idsOfWorld(answer.world);
      genOpts.nextLinkId = answer.world.nextLinkId;
    }
    coverage.record(seq, answer.target, sizes);
    if (answer.diff.length === 0) continue;
    log(`sequence ${index} (${seq.steps.length} steps) diverges:\n${describeDiff(answer.diff)}\nshrinking against ${opts.target.spec}...`);
    const shrunk = await shrink(seq, (s) => stillDiverges(opts.target, profile, s, view));
    const final = await compare(opts.target, profile, shrunk.seq, {}, view);
    if (final.diff.length === 0) log(`warning: the minimal sequence did not diverge when replayed once more: the target may answer inconsistently`);
    const found = { index, original: seq, minimal: shrunk.seq, shrinkAttempts: shrunk.attempts, targetResults: final.target, emulatorResults: final.emulator, diff: final.diff, world: view(final.world) };
    const written = opts.outDir ? writeArtifacts(opts.outDir, found) : { files: [], shellNote: null };
    divergence = { ...found, ...written };
    log(`minimal sequence: ${shrunk.seq.steps.length} steps after ${shrunk.attempts} attempts:\n${describeDiff(final.diff)}`);
    break;
  }
  const report: FuzzReport = {
    seed: opts.seed,
    target: opts.target.spec,
    kernel,
    profile: profile.name,
    sequences: run,
    skipped,
    coverage: coverage.toJSON(),
    divergence,
  };
  if (opts.outDir) {
    mkdirSync(opts.outDir, { recursive: true });
    writeFileSync(join(opts.outDir, 'coverage.json'), `${JSON.stringify(report.coverage, null, 2)}\n`);
  }
  log(coverage.format());
  return report;
}
