// The fuzz loop: generate a sequence, replay it on the target and on the in-process emulator,
// compare; on the first divergence shrink it against the target and write the reproducers. A
// sequence that crashes the target's kernel is a finding too: shrunk to the steps that still do.
// One open target serves the whole run (for a VM target: one boot for every sequence).

import { mkdirSync, writeFileSync } from 'node:fs';
import { lockOutDir } from '../results/out-dir.js';
import { join } from 'node:path';
import type { Profile } from '../../emulator/profiles.js';
import { ModelGapError } from '../../emulator/syscall.js';
import type { KernelWorld } from '../../contract/world.js';
import type { StepDivergence } from '../replay/step-diff.js';
import type { Sequence, StepResult } from '../../contract/seq.js';
import { type Target, TargetError, type TargetFaultKind } from '../../contract/target.js';
import { Coverage, type CoverageReport } from '../generation/choice-coverage.js';
import { type GenerateOptions, generateSequence, idsOfWorld } from '../generation/generate.js';
import { type WorldView, answers, chooseProfile, compare, targetHasNetkit, targetHasQdiscs, wholeWorld } from '../replay/compare.js';
import { writeReproducers } from '../reproducers/findings.js';
import { shrink } from '../generation/shrink.js';
import { sequenceToText } from '../sequences/write.js';

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

/** A sequence that diverged once, and not when replayed again. */
export interface FlakyReport {
  index: number;
  original: Sequence;
  diff: StepDivergence[];
  files: string[];
}

/** A flaky divergence's sequence and what it answered that once, in DIR/flaky-NAME/ (no reproducer: there is nothing to reproduce). */
function writeFlaky(outDir: string, seq: Sequence, diff: StepDivergence[]): string[] {
  const dir = join(outDir, `flaky-${seq.name}`);
  mkdirSync(dir, { recursive: true });
  const files = [join(dir, 'original.json'), join(dir, 'divergence.json')];
  writeFileSync(files[0]!, sequenceToText(seq));
  writeFileSync(files[1]!, `${JSON.stringify({ diff, note: 'diverged once, not when replayed again' }, null, 2)}\n`);
  return files;
}

/** A generated sequence that crashed or hung the target's kernel, and did again alone. */
export interface CrashReport {
  index: number;
  original: Sequence;
  minimal: Sequence;
  shrinkAttempts: number;
  /** The fault of the minimal sequence's last run (the first one's if that did not crash). */
  kind: TargetFaultKind;
  message: string;
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
  crash: CrashReport | null;
  /** Divergences seen once and not when their sequence was replayed again. */
  flaky: FlakyReport[];
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

/** The crash `seq` causes when run alone, or null (it answered, or failed otherwise). */
async function crashOf(target: Target, seq: Sequence): Promise<TargetError | null> {
  try {
    await target.run(seq, { crossCheck: false });
    return null;
  } catch (err) {
    return err instanceof TargetError && err.exitClass === 'crash' ? err : null;
  }
}

/**
 * A sequence that crashed the target, run again alone (a VM boots afresh): when it crashes again,
 * shrunk to the fewest steps that still do, and written with its reproducers and the console.
 * Null when it did not (one of the sequences in flight beside it may have been the cause).
 */
async function crashFinding(opts: FuzzOptions, index: number, seq: Sequence, first: TargetError): Promise<CrashReport | null> {
  const log = opts.log ?? (() => undefined);
  if (!(await crashOf(opts.target, seq))) return null;
  log(`sequence ${index} (${seq.steps.length} steps) crashes ${opts.target.spec} (${first.kind}); shrinking...`);
  const shrunk = await shrink(seq, async (s) => (await crashOf(opts.target, s)) !== null, { log });
  const fault = (await crashOf(opts.target, shrunk.seq)) ?? first;
  let files: string[] = [];
  let shellNote: string | null = null;
  if (opts.outDir) {
    const written = writeReproducers(join(opts.outDir, `crash-${seq.name}`), shrunk.seq, seq);
    written.write('console.log', fault.console ?? '(no console)\n');
    written.write('crash.json', `${JSON.stringify({ kind: fault.kind, message: fault.message, target: opts.target.spec }, null, 2)}\n`);
    ({ files, shellNote } = written);
  }
  log(`minimal sequence: ${shrunk.seq.steps.length} steps after ${shrunk.attempts} attempts; it crashes the kernel (${fault.kind})`);
  return { index, original: seq, minimal: shrunk.seq, shrinkAttempts: shrunk.attempts, kind: fault.kind, message: fault.message, files, shellNote };
}

function describeDiff(diff: StepDivergence[]): string {
  return diff
    .map(
      (d) =>
        `  step ${d.step} (${d.op}): ${d.fields.map((f) => `${f.path}: target ${JSON.stringify(f.left)} vs emulator ${JSON.stringify(f.right)}`).join('; ')}`,
    )
    .join('\n');
}

function writeArtifacts(outDir: string, d: Omit<DivergenceReport, 'files' | 'shellNote'>): { files: string[]; shellNote: string | null } {
  const written = writeReproducers(join(outDir, `divergence-${d.original.name}`), d.minimal, d.original);
  const { shellNote } = written;
  written.write(
    'divergence.json',
    `${JSON.stringify({ diff: d.diff, target: d.targetResults, emulator: d.emulatorResults, world: d.world ?? null, shellNote }, null, 2)}\n`,
  );
  return { files: written.files, shellNote };
}

/** How often a run says where it is (a fuzz run may take the night). */
const PROGRESS_MS = 5000;

/** Where a run stands, for its progress line. */
interface Standing {
  run: number;
  skipped: number;
  flaky: number;
  total: number;
  elapsedMs: number;
  untilDeadlineMs: number;
}

/** "fuzz: 1200 of 5000 sequences (42/s), no divergence yet, 1 flaky, about 1m30s left". */
function progressLine({ run, skipped, flaky, total, elapsedMs, untilDeadlineMs }: Standing): string {
  const rate = run / (elapsedMs / 1000);
  const leftMs = Math.min(((total - run - skipped) / rate) * 1000, untilDeadlineMs);
  const s = Math.max(0, Math.round(leftMs / 1000));
  const left = s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
  const counted = `${run}${Number.isFinite(total) ? ` of ${total}` : ''} sequences (${rate >= 10 ? Math.round(rate) : rate.toFixed(1)}/s${skipped ? `, ${skipped} skipped` : ''})`;
  // A divergence ends the run (it is shrunk and written): until then, the flaky ones are the findings.
  return `fuzz: ${counted}, no divergence yet${flaky ? `, ${flaky} flaky (diverged once, not again)` : ''}, about ${left} left`;
}

export async function fuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? (() => undefined);
  // Held from the start (not only when findings are written): a conform writing there refuses it.
  if (opts.outDir) {
    mkdirSync(opts.outDir, { recursive: true });
    lockOutDir(opts.outDir);
  }
  const kernel = await opts.target.kernel();
  const profile = await chooseProfile(opts.target, opts.profile);
  const netkit = await targetHasNetkit(opts.target, profile);
  const coverage = new Coverage();
  const deadline = opts.timeMs === undefined ? Infinity : Date.now() + opts.timeMs;
  const view = opts.worldView ?? wholeWorld;
  // Raw numbers are drawn around the ids the target's kernel used last (known once answers come).
  const genOpts: GenerateOptions = {
    profile,
    maxSteps: opts.maxSteps,
    netkit,
    qdiscs: await targetHasQdiscs(opts.target),
    bulk: true,
    nearIds: [],
    cgroups: profile.cgroupMprog,
  };
  log(
    `fuzz: seed ${opts.seed}, target ${opts.target.spec} (${kernel}), emulator profile ${profile.name}${netkit ? '' : ', no netkit on the target'}`,
  );

  let divergence: DivergenceReport | null = null;
  let crash: CrashReport | null = null;
  const flaky: FlakyReport[] = [];
  let run = 0;
  let skipped = 0;
  const started = Date.now();
  let reported = started;
  const more = (index: number) => index < opts.sequences && Date.now() < deadline;
  for await (const { index, seq, sizes, answer } of answers(opts.target, profile, (i) => generateSequence(opts.seed, i, genOpts), more, view)) {
    if (answer instanceof TargetError && answer.exitClass === 'crash') {
      crash = await crashFinding(opts, index, seq, answer);
      if (!crash) throw answer; // not again alone: said as the crash it was
      break;
    }
    if (answer instanceof Error) {
      if (!(answer instanceof ModelGapError)) throw answer;
      skipped++; // the generator made a step the emulator does not model: not a finding
      continue;
    }
    run++;
    if (Date.now() - reported >= PROGRESS_MS) {
      reported = Date.now();
      log(
        progressLine({
          run,
          skipped,
          flaky: flaky.length,
          total: opts.sequences,
          elapsedMs: reported - started,
          untilDeadlineMs: deadline - reported,
        }),
      );
    }
    if (answer.world) {
      genOpts.nearIds = idsOfWorld(answer.world);
      genOpts.nextLinkId = answer.world.nextLinkId;
    }
    coverage.record(seq, answer.target, sizes);
    if (answer.diff.length === 0) continue;
    // Seen once is not yet a finding: a divergence that does not show when the sequence is
    // replayed again is flaky, said and written apart, and the run goes on.
    if (!(await stillDiverges(opts.target, profile, seq, view))) {
      log(`flaky: sequence ${index} diverged once, not when replayed again:\n${describeDiff(answer.diff)}`);
      flaky.push({ index, original: seq, diff: answer.diff, files: opts.outDir ? writeFlaky(opts.outDir, seq, answer.diff) : [] });
      continue;
    }
    log(`sequence ${index} (${seq.steps.length} steps) diverges:\n${describeDiff(answer.diff)}\nshrinking against ${opts.target.spec}...`);
    const shrunk = await shrink(seq, (s) => stillDiverges(opts.target, profile, s, view), { log });
    const final = await compare(opts.target, profile, shrunk.seq, {}, view);
    if (final.diff.length === 0) log(`warning: the minimal sequence did not diverge when replayed once more: the target may answer inconsistently`);
    const found = {
      index,
      original: seq,
      minimal: shrunk.seq,
      shrinkAttempts: shrunk.attempts,
      targetResults: final.target,
      emulatorResults: final.emulator,
      diff: final.diff,
      world: view(final.world),
    };
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
    crash,
    flaky,
  };
  if (opts.outDir) {
    mkdirSync(opts.outDir, { recursive: true });
    writeFileSync(join(opts.outDir, 'coverage.json'), `${JSON.stringify(report.coverage, null, 2)}\n`);
  }
  log(coverage.format());
  return report;
}
