// Running a plan: each target replays its sequences one after another (one VM is one target),
// several targets at once; every sequence is also replayed on the emulator with the profile of
// the target's kernel, the two diffed step by step, and the pair's record stored at once.

import { availableParallelism } from 'node:os';
import { type Profile, profileForRelease } from '../../emulator/profiles.js';
import { diffResults } from '../replay/step-diff.js';
import { type Replayed, replaySequence } from '../replay/replay.js';
import type { Sequence } from '../../contract/seq.js';
import { EmulatorTarget } from '../targets/emulator.js';
import { openTarget } from '../targets/open.js';
import type { Target } from '../../contract/target.js';
import { REPORT_FILES, writeReports } from '../results/writers/files.js';
import { type ConformRequest, type Plan, makePlan } from './plan.js';
import { prepareOutDir } from '../results/out-dir.js';
import { type Fault, type PlanRecord, type ResultRecord, type TargetFaultRecord, type TargetPlan, faultRecord, pairKey } from '../results/records.js';
import { type Report, buildReport } from '../results/report.js';
import { faultOf } from '../results/faults.js';
import { ResultsStore } from '../results/store.js';
import { callTexts } from '../results/step-text.js';
import { shellWord } from '../reproducers/shell-quote.js';
import type { KernelCounters } from '../../contract/coverage.js';
import { type CoverageReport, appendCoverageSummary, writeCoverage } from '../coverage/report.js';
import { join } from 'node:path';

export const DEFAULT_OUT = 'out/conform';

export type ProgressEvent =
  /** alreadyDone: pairs finished by the run being resumed, by target spec. */
  | { type: 'start'; plan: PlanRecord; jobs: number; alreadyDone: Record<string, number> }
  | { type: 'target-start'; target: TargetPlan }
  | { type: 'target-up'; target: TargetPlan; release: string; profile: string }
  | { type: 'pair-start'; target: TargetPlan; sequence: string; name: string }
  | { type: 'pair-done'; target: TargetPlan; record: ResultRecord }
  | { type: 'target-fault'; target: TargetPlan; record: TargetFaultRecord };

export interface RunOptions extends ConformRequest {
  outDir: string;
  /** Targets replayed at once; null: as many as there are cores (and targets). */
  jobs: number | null;
  resume: boolean;
  onProgress?: (event: ProgressEvent) => void;
  /** How a target spec becomes a Target; tests pass real targets with options the CLI has not. */
  openTarget?: (spec: string) => Promise<Target>;
}

/** Shared by the workers of one run. */
interface RunContext {
  outDir: string;
  /** Stores a record (before anything else learns of it) and keeps it for the report. */
  keep: (record: ResultRecord | TargetFaultRecord) => void;
  finished: Set<string>;
  profile: Profile | null;
  open: (spec: string) => Promise<Target>;
  emit: (event: ProgressEvent) => void;
  /** The counters of each coverage kernel, as its target closes. */
  counters: { target: string; counters: KernelCounters }[];
}

/** A kernel's answer to one sequence, asked for ahead of its turn; its errors are caught into it. */
type Asked = Promise<Replayed | { error: unknown }>;

function ask(target: Target, seq: Sequence): Asked {
  return replaySequence(target, seq).catch((error: unknown) => ({ error }));
}

/** The commands that replay `seq` on the target and on the emulator, as a user types them. */
function replayCommands(seq: Sequence, spec: string, profile: string): string[] {
  const file = shellWord(seq.file);
  return [`npx mprog replay --target ${shellWord(spec)} ${file}`, `npx mprog replay --target emulator:${profile} ${file}`];
}

async function runPair(ctx: RunContext, up: Up, tp: TargetPlan, seq: Sequence, asked: Asked): Promise<ResultRecord> {
  const started = Date.now();
  try {
    const kernel = await asked;
    if ('error' in kernel) throw kernel.error;
    const emulator = await replaySequence(new EmulatorTarget(up.profile), seq, { world: kernel.world });
    const calls = callTexts(seq);
    const divergences = diffResults(kernel.report.results, emulator.report.results).map((d) => ({ ...d, call: calls[d.step] }));
    const expectFailures = [
      ...kernel.expectFailures.map((f) => ({ side: 'kernel' as const, ...f })),
      ...emulator.expectFailures.map((f) => ({ side: 'emulator' as const, ...f })),
    ];
    return {
      type: 'result',
      sequence: seq.file,
      name: seq.name,
      target: tp.spec,
      release: up.release,
      profile: up.profile.name,
      ...(up.origin !== undefined && { origin: up.origin }),
      outcome: divergences.length || expectFailures.length ? 'fail' : 'pass',
      steps: seq.steps.length,
      divergences,
      expectFailures,
      ...((divergences.length || expectFailures.length) && { replay: replayCommands(seq, tp.spec, up.profile.name), calls }),
      ms: Date.now() - started,
      results: { kernel: kernel.report.results, emulator: emulator.report.results },
    };
  } catch (err) {
    const fault = faultOf(ctx.outDir, err, `${tp.spec}--${seq.file}`);
    return faultRecord(seq, tp, up.release, up.profile.name, fault, Date.now() - started);
  }
}

interface Up {
  target: Target;
  release: string;
  origin: string | undefined;
  profile: Profile;
}

/** Starts the target and picks the emulator profile for its kernel; a fault means nothing can run on it. */
async function bringUp(ctx: RunContext, tp: TargetPlan): Promise<Up | TargetFaultRecord> {
  let target: Target | undefined;
  let release: string | null = null;
  try {
    target = await ctx.open(tp.spec);
    release = await target.kernel();
    const profile = ctx.profile ?? profileForRelease(release);
    if (profile) return { target, release, origin: await target.origin?.(), profile };
    await target.close();
    const fault: Fault = {
      kind: 'no-profile',
      message: `no emulator profile fits kernel ${release} (profiles cover 6.1 and later); choose one with --profile`,
    };
    return { type: 'target-fault', target: tp.spec, release, fault };
  } catch (err) {
    await target?.close().catch(() => undefined);
    return { type: 'target-fault', target: tp.spec, release, fault: faultOf(ctx.outDir, err, tp.spec) };
  }
}

/**
 * Faults after which the target cannot answer again (its kernel no longer boots, its tools are
 * gone): the rest of its pairs are left for a resumed run instead of each waiting for a deadline.
 */
const TARGET_ENDING: readonly string[] = ['boot-fail', 'unusable'];

/** Sequences a target is asked for ahead of the one being diffed. */
const AHEAD = 8;

function targetFault(ctx: RunContext, tp: TargetPlan, record: TargetFaultRecord): void {
  ctx.keep(record);
  ctx.emit({ type: 'target-fault', target: tp, record });
}

async function runTarget(ctx: RunContext, tp: TargetPlan, seqs: Sequence[]): Promise<void> {
  const todo = seqs.filter((s) => !ctx.finished.has(pairKey(s.file, tp.spec)));
  if (todo.length === 0) return;
  ctx.emit({ type: 'target-start', target: tp });
  const up = await bringUp(ctx, tp);
  if ('type' in up) {
    // A kernel without the feature is the answer for every pair (resume skips them); anything else is retried.
    if (up.fault.kind === 'unsupported') for (const seq of todo) finish(ctx, tp, faultRecord(seq, tp, up.release, null, up.fault, 0));
    else targetFault(ctx, tp, up);
    return;
  }
  ctx.emit({ type: 'target-up', target: tp, release: up.release, profile: up.profile.name });
  // Sequences are sent ahead of their turn, as replay sends them: the target works on the next
  // while the host diffs the last, and a guest's agent runs several at once. Answers come in order.
  const asked: Asked[] = [];
  const askUpTo = (n: number) => {
    while (asked.length < Math.min(n, todo.length)) asked.push(ask(up.target, todo[asked.length]!));
  };
  try {
    for (const [i, seq] of todo.entries()) {
      askUpTo(i + AHEAD);
      ctx.emit({ type: 'pair-start', target: tp, sequence: seq.file, name: seq.name });
      const record = await runPair(ctx, up, tp, seq, asked[i]!);
      finish(ctx, tp, record);
      // A fault may have cost the guest its life, and the answers asked of it since with it: those
      // are asked again (of the next guest) rather than recorded with this fault.
      if (record.fault) asked.length = i + 1;
      if (record.fault && TARGET_ENDING.includes(record.fault.kind)) {
        const rest = todo.length - todo.indexOf(seq) - 1;
        const fault: Fault = {
          kind: 'not-run',
          message: `not run: ${tp.spec} stopped answering (${record.fault.kind} in ${seq.name}); continue with --resume`,
        };
        if (rest) targetFault(ctx, tp, { type: 'target-fault', target: tp.spec, release: up.release, fault });
        break;
      }
    }
  } finally {
    await up.target.close().catch(() => undefined);
    const counters = await up.target.coverage?.();
    if (counters) ctx.counters.push({ target: tp.spec, counters });
  }
}

function finish(ctx: RunContext, tp: TargetPlan, record: ResultRecord): void {
  ctx.keep(record);
  ctx.emit({ type: 'pair-done', target: tp, record });
}

/** Runs `work` over `items`, at most `jobs` at a time. */
async function pool<T>(items: T[], jobs: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
}

function doneByTarget(plan: Plan, finished: Set<string>): Record<string, number> {
  const done: Record<string, number> = {};
  for (const t of plan.record.targets) done[t.spec] = plan.sequences.filter((s) => finished.has(pairKey(s.file, t.spec))).length;
  return done;
}

export interface ConformDone {
  report: Report;
  outDir: string;
  /** What each coverage kernel ran (none for other kernels). */
  coverage: CoverageReport[];
}

/** The whole `mprog conform`: plan, run (or resume), and write every report file. Throws a BadInput
 * for what the user got wrong (the corpus, --out, a --resume of another run). */
export async function runConform(options: RunOptions): Promise<ConformDone> {
  const plan = makePlan(options);
  prepareOutDir(options.outDir);
  const store = options.resume ? ResultsStore.resume(options.outDir, plan.record) : ResultsStore.create(options.outDir, plan.record);
  const collected: (ResultRecord | TargetFaultRecord)[] = [...store.previous];
  const ctx: RunContext = {
    outDir: options.outDir,
    keep: (record) => {
      store.append(record);
      collected.push(record);
    },
    finished: store.finished(),
    profile: options.profile,
    open: options.openTarget ?? openTarget,
    emit: options.onProgress ?? (() => {}),
    counters: [],
  };
  const jobs = Math.min(options.jobs ?? availableParallelism(), Math.max(1, plan.record.targets.length));
  ctx.emit({ type: 'start', plan: plan.record, jobs, alreadyDone: doneByTarget(plan, ctx.finished) });
  await pool(plan.record.targets, jobs, (tp) => runTarget(ctx, tp, plan.sequences));
  const report = buildReport([plan.record], collected);
  writeReports(options.outDir, report);
  const coverage = await writeCoverage(options.outDir, ctx.counters);
  appendCoverageSummary(join(options.outDir, REPORT_FILES.markdown), coverage);
  return { report, outDir: options.outDir, coverage };
}
