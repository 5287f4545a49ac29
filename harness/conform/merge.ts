// `mprog merge DIR...`: the output directories of several runs (usually the shards of one run,
// made on different machines) joined into one output directory with one report.

import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeReports } from './outputs.js';
import { BadInput } from '../errors.js';
import { lockOutDir, prepareOutDir } from '../out-dir.js';
import { type PlanRecord, RESULTS_FILE, RESULTS_FORMAT, type ResultRecord, type SequencePlan, type TargetFaultRecord, type TargetPlan, pairKey } from './records.js';
import { type Report, buildReport } from './report.js';
import { type StoredRun, readRun } from './store.js';

export interface MergeDone {
  report: Report;
  outDir: string;
}

/** One plan covering all runs; the runs must agree on what they replayed. */
function mergePlans(runs: { dir: string; run: StoredRun }[]): PlanRecord | BadInput {
  const profiles = new Set(runs.map((r) => r.run.plan.profile));
  if (profiles.size > 1) return new BadInput(`the runs used different --profile values (${[...profiles].map((p) => p ?? 'by release').join(', ')})`);
  const targets = new Map<string, TargetPlan>();
  const sequences = new Map<string, { seq: SequencePlan; dir: string }>();
  for (const { dir, run } of runs) {
    for (const t of run.plan.targets) targets.set(t.spec, t);
    for (const seq of run.plan.sequences) {
      const seen = sequences.get(seq.key);
      if (seen && seen.seq.hash !== seq.hash) return new BadInput(`${seq.key} differs between the runs in ${seen.dir} and ${dir}; merge runs of the same corpus`);
      sequences.set(seq.key, { seq, dir });
    }
  }
  return {
    type: 'plan',
    format: RESULTS_FORMAT,
    shard: null,
    profile: runs[0]!.run.plan.profile,
    targets: [...targets.values()],
    sequences: [...sequences.values()].map((s) => s.seq).sort((a, b) => (a.key < b.key ? -1 : 1)),
  };
}

/** Shards of one N-way split that were not given: their sequences are simply absent, so say so. */
function missingShards(plans: PlanRecord[]): string[] {
  const shards = plans.flatMap((p) => (p.shard ? [p.shard] : []));
  const counts = new Set(shards.map((s) => s.count));
  if (counts.size > 1) return [`the runs are shards of different splits (${[...counts].map((n) => `N=${n}`).join(', ')})`];
  const [count] = counts;
  if (count === undefined || plans.some((p) => !p.shard)) return [];
  const have = new Set(shards.map((s) => s.index));
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !have.has(i));
  return missing.length ? [`shards ${missing.map((i) => `${i}/${count}`).join(', ')} missing: their sequences are not in this report`] : [];
}

/** The latest record of each pair and each target fault: a merged results.jsonl has no repeats. */
function latest(records: (ResultRecord | TargetFaultRecord)[]): (ResultRecord | TargetFaultRecord)[] {
  const byKey = new Map<string, ResultRecord | TargetFaultRecord>();
  for (const r of records) byKey.set(r.type === 'result' ? pairKey(r.sequence, r.target) : `fault\u0000${r.target}`, r);
  return [...byKey.values()];
}

export function mergeRuns(dirs: string[], outDir: string): MergeDone | BadInput {
  const runs: { dir: string; run: StoredRun }[] = [];
  for (const dir of dirs) {
    const run = readRun(dir);
    if (run instanceof BadInput) return run;
    runs.push({ dir, run });
  }
  const plan = mergePlans(runs);
  if (plan instanceof BadInput) return plan;
  const records = latest(runs.flatMap((r) => r.run.records));
  const report = buildReport([plan], records, missingShards(runs.map((r) => r.run.plan)));
  const unwritable = prepareOutDir(outDir) ?? lockOutDir(outDir);
  if (unwritable) return unwritable;
  writeFileSync(join(outDir, RESULTS_FILE), [plan, ...records].map((r) => `${JSON.stringify(r)}\n`).join(''));
  for (const { dir } of runs) {
    // Console logs keep their relative paths, so the merged records still point at them.
    const logs = join(dir, 'console');
    if (existsSync(logs) && resolve(dir) !== resolve(outDir)) cpSync(logs, join(outDir, 'console'), { recursive: true });
  }
  writeReports(outDir, report);
  return { report, outDir };
}
