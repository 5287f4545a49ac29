// `mprog merge DIR...`: the output directories of several runs (usually the shards of one run,
// made on different machines) joined into one output directory with one report.

import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPORT_FILES, writeReports } from './writers/files.js';
import { type CoverageReport, appendCoverageSummary, mergeCoverage } from '../coverage/report.js';
import { BadInput } from '../../contract/errors.js';
import { lockOutDir, prepareOutDir } from './out-dir.js';
import {
  type PlanRecord,
  RESULTS_FILE,
  RESULTS_FORMAT,
  type ResultRecord,
  type SequencePlan,
  type TargetFaultRecord,
  type TargetPlan,
  pairKey,
} from './records.js';
import { type Report, buildReport } from './report.js';
import { type StoredRun, readRun } from './store.js';

export interface MergeDone {
  report: Report;
  outDir: string;
  /** The coverage kernels' reports, summed over the runs. */
  coverage: CoverageReport[];
}

/** One plan covering all runs; the runs must agree on what they replayed (a BadInput says where not). */
function mergePlans(runs: { dir: string; run: StoredRun }[]): PlanRecord {
  const profiles = new Set(runs.map((r) => r.run.plan.profile));
  if (profiles.size > 1) throw new BadInput(`the runs used different --profile values (${[...profiles].map((p) => p ?? 'by release').join(', ')})`);
  const targets = new Map<string, TargetPlan>();
  const sequences = new Map<string, { seq: SequencePlan; dir: string }>();
  for (const { dir, run } of runs) {
    for (const t of run.plan.targets) targets.set(t.spec, t);
    for (const seq of run.plan.sequences) {
      const seen = sequences.get(seq.key);
      if (seen && seen.seq.hash !== seq.hash)
        throw new BadInput(`${seq.key} differs between the runs in ${seen.dir} and ${dir}; merge runs of the same corpus`);
      sequences.set(seq.key, { seq, dir });
    }
  }
  refuseUnrelated(runs, [...targets.keys()], [...sequences.keys()]);
  return {
    type: 'plan',
    format: RESULTS_FORMAT,
    shard: null,
    profile: runs[0]!.run.plan.profile,
    targets: [...targets.values()],
    sequences: [...sequences.values()].map((s) => s.seq).sort((a, b) => (a.key < b.key ? -1 : 1)),
  };
}

/**
 * Runs that are not parts of one run: some pair of the merged plan (a sequence of one on a target
 * of another) was planned by none of them, and its report would call it "not run".
 */
function refuseUnrelated(runs: { dir: string; run: StoredRun }[], targets: string[], sequences: string[]): void {
  // Shards of one split: a shard not given is said per target (missingShards), not refused.
  const counts = new Set(runs.map(({ run }) => run.plan.shard?.count ?? 0));
  if (counts.size === 1 && !counts.has(0)) return;
  const planned = new Set(runs.flatMap(({ run }) => run.plan.targets.flatMap((t) => run.plan.sequences.map((seq) => pairKey(seq.key, t.spec)))));
  const unplanned = targets.flatMap((t) => sequences.filter((seq) => !planned.has(pairKey(seq, t))).map((seq) => ({ seq, t })));
  if (unplanned.length === 0) return;
  const what = runs.map(({ dir, run }) => `${dir}: ${run.plan.sequences.length} sequences on ${run.plan.targets.map((t) => t.spec).join(', ')}`);
  throw new BadInput(
    `these are not the shards of one run: ${what.join('; ')} (${unplanned[0]!.seq} was replayed on ${unplanned[0]!.t} by none of them); merge the shards of one conform run (--shard I/N with the same kernels, arches and profile)`,
  );
}

/** Shards of one N-way split that were not given, for each target: their sequences are simply absent there, so say so. */
function missingShards(plans: PlanRecord[]): string[] {
  const shards = plans.flatMap((p) => (p.shard ? [p.shard] : []));
  const counts = new Set(shards.map((s) => s.count));
  if (counts.size > 1) return [`the runs are shards of different splits (${[...counts].map((n) => `N=${n}`).join(', ')})`];
  const [count] = counts;
  if (count === undefined || plans.some((p) => !p.shard)) return [];
  const have = new Map<string, Set<number>>();
  for (const p of plans) for (const t of p.targets) (have.get(t.spec) ?? have.set(t.spec, new Set()).get(t.spec)!).add(p.shard!.index);
  const all = Array.from({ length: count }, (_, i) => i + 1);
  const missing = [...have].map(([spec, got]) => ({ spec, lost: all.filter((i) => !got.has(i)) })).filter((m) => m.lost.length);
  if (missing.length === 0) return [];
  const everywhere = missing.length === have.size && missing.every((m) => m.lost.join() === missing[0]!.lost.join());
  const list = (lost: number[]) => lost.map((i) => `${i}/${count}`).join(', ');
  if (everywhere) return [`shards ${list(missing[0]!.lost)} missing: their sequences are not in this report`];
  return missing.map((m) => `shards ${list(m.lost)} of ${m.spec} missing: their sequences did not run there`);
}

/** The latest record of each pair and each target fault: a merged results.jsonl has no repeats. */
function latest(records: (ResultRecord | TargetFaultRecord)[]): (ResultRecord | TargetFaultRecord)[] {
  const byKey = new Map<string, ResultRecord | TargetFaultRecord>();
  for (const r of records) byKey.set(r.type === 'result' ? pairKey(r.sequence, r.target) : `fault\u0000${r.target}`, r);
  return [...byKey.values()];
}

/** The runs in `dirs` merged into `outDir`; a BadInput says why they cannot be. */
export async function mergeRuns(dirs: string[], outDir: string): Promise<MergeDone> {
  const runs = dirs.map((dir) => ({ dir, run: readRun(dir) }));
  const plan = mergePlans(runs);
  const records = latest(runs.flatMap((r) => r.run.records));
  const report = buildReport([plan], records, missingShards(runs.map((r) => r.run.plan)));
  prepareOutDir(outDir);
  lockOutDir(outDir);
  writeFileSync(join(outDir, RESULTS_FILE), [plan, ...records].map((r) => `${JSON.stringify(r)}\n`).join(''));
  for (const { dir } of runs) {
    // Console logs keep their relative paths, so the merged records still point at them.
    const logs = join(dir, 'console');
    if (existsSync(logs) && resolve(dir) !== resolve(outDir)) {
      try {
        cpSync(logs, join(outDir, 'console'), { recursive: true }); // symlinks copied as symlinks: no loop is followed
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === undefined) throw err;
        throw new BadInput(`${logs}: cannot copy its console logs to ${outDir} (${code})`, { file: logs, cause: err });
      }
    }
  }
  writeReports(outDir, report);
  const coverage = await mergeCoverage(dirs, outDir);
  appendCoverageSummary(join(outDir, REPORT_FILES.markdown), coverage);
  return { report, outDir, coverage };
}
