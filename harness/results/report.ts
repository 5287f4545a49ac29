// The report of a run (or of merged shards): every planned pair with its outcome, totals per
// target, and the exit status. Terminal, JUnit, TAP and Markdown all render this one model.

import {
  CONFORM_COMPARISON,
  type Comparison,
  type Outcome,
  type PlanRecord,
  type ResultRecord,
  type SequencePlan,
  type TargetFaultRecord,
  type TargetPlan,
  outcomeOfFault,
  pairKey,
} from './records.js';
import { distinctExpectFailures } from './divergence.js';

export interface Counts {
  sequences: number;
  /** Steps replayed (of the pairs that ran to the end). */
  steps: number;
  divergentSteps: number;
  expectFailures: number;
  passed: number;
  failed: number;
  unsupported: number;
  errors: number;
  crashes: number;
  /** Pairs never replayed: the run was interrupted, or their target stopped answering. */
  notRun: number;
}

export interface TargetSummary {
  target: TargetPlan;
  /** Kernel releases and emulator profiles seen (more than one only if a run mixed them). */
  releases: string[];
  profiles: string[];
  counts: Counts;
}

export type ExitStatus = 0 | 1 | 2 | 3;

/** A run stopped by a signal before it finished: how to go on with it. */
export interface Interruption {
  signal: string;
  /** The command that continues the run, as the user can paste it. */
  resume: string;
}

export interface Report {
  /** What the run compared (its plan's; conform's when the plan does not say). */
  comparison: Comparison;
  targets: TargetSummary[];
  /** Every planned pair: target-major, then in sequence order. */
  pairs: { target: TargetPlan; sequence: SequencePlan; record: ResultRecord }[];
  totals: Counts;
  /** Problems with the run as a whole (e.g. a shard missing from a merge); each makes the status 2. */
  notes: string[];
  /** Set when the run was stopped by a signal: its pairs not run are so because of it. */
  interrupted?: Interruption;
  status: ExitStatus;
}

function zero(): Counts {
  return { sequences: 0, steps: 0, divergentSteps: 0, expectFailures: 0, passed: 0, failed: 0, unsupported: 0, errors: 0, crashes: 0, notRun: 0 };
}

const OUTCOME_COUNT: Record<Outcome, keyof Counts> = {
  pass: 'passed',
  fail: 'failed',
  unsupported: 'unsupported',
  error: 'errors',
  crash: 'crashes',
  'not-run': 'notRun',
};

function add(counts: Counts, r: ResultRecord): void {
  counts.sequences++;
  counts[OUTCOME_COUNT[r.outcome]]++;
  if (r.outcome === 'pass' || r.outcome === 'fail') counts.steps += r.steps;
  counts.divergentSteps += r.divergences.length;
  counts.expectFailures += distinctExpectFailures(r.expectFailures).length;
}

/** What a pair the run never reached says: interrupted by a signal, or just not there (a merge of an unfinished run). */
const NOT_RUN = { interrupted: 'not run: the run was interrupted', stopped: 'not run: the run stopped before this pair (continue it with --resume)' };

/** A planned pair with no result: the target never came up, or the run stopped before it. */
function missing(target: TargetPlan, seq: SequencePlan, fault: TargetFaultRecord | undefined, interrupted: boolean): ResultRecord {
  const f = fault?.fault ?? { kind: 'not-run' as const, message: interrupted ? NOT_RUN.interrupted : NOT_RUN.stopped };
  return {
    type: 'result',
    sequence: seq.key,
    name: seq.name,
    target: target.spec,
    release: fault?.release ?? null,
    profile: null,
    outcome: outcomeOfFault(f.kind),
    steps: seq.steps,
    divergences: [],
    expectFailures: [],
    fault: f,
    ms: 0,
  };
}

/** Crash beats bad input (and an unfinished run) beats divergence: the most urgent thing decides the status. */
function statusOf(totals: Counts, notes: string[]): ExitStatus {
  if (totals.crashes > 0) return 3;
  if (totals.errors > 0 || notes.length > 0 || totals.notRun > 0) return 2;
  if (totals.failed > 0) return 1;
  return 0;
}

/**
 * One report from one or more plans (shards) and their records. A later record of a pair
 * replaces an earlier one; records of pairs no plan has are ignored.
 */
export function buildReport(
  plans: PlanRecord[],
  records: (ResultRecord | TargetFaultRecord)[],
  notes: string[] = [],
  interrupted?: Interruption,
): Report {
  const results = new Map<string, ResultRecord>();
  const targetFaults = new Map<string, TargetFaultRecord>();
  for (const r of records) {
    if (r.type === 'result') results.set(pairKey(r.sequence, r.target), r);
    else targetFaults.set(r.target, r);
  }
  const targets = new Map<string, { target: TargetPlan; sequences: Map<string, SequencePlan> }>();
  for (const plan of plans) {
    for (const target of plan.targets) {
      const entry = targets.get(target.spec) ?? { target, sequences: new Map() };
      for (const seq of plan.sequences) entry.sequences.set(seq.key, seq);
      targets.set(target.spec, entry);
    }
  }
  const comparison = plans[0]?.comparison ?? CONFORM_COMPARISON;
  const report: Report = { comparison, targets: [], pairs: [], totals: zero(), notes, ...(interrupted && { interrupted }), status: 0 };
  for (const { target, sequences } of targets.values()) {
    const summary: TargetSummary = { target, releases: [], profiles: [], counts: zero() };
    for (const seq of [...sequences.values()].sort((a, b) => (a.key < b.key ? -1 : 1))) {
      const record = results.get(pairKey(seq.key, target.spec)) ?? missing(target, seq, targetFaults.get(target.spec), interrupted !== undefined);
      report.pairs.push({ target, sequence: seq, record });
      add(summary.counts, record);
      add(report.totals, record);
      if (record.release && !summary.releases.includes(record.release)) summary.releases.push(record.release);
      if (record.profile && !summary.profiles.includes(record.profile)) summary.profiles.push(record.profile);
    }
    report.targets.push(summary);
  }
  // Nothing compared is not "all agree": a run where every kernel lacked the API proves nothing.
  if (report.totals.sequences > 0 && report.totals.unsupported === report.totals.sequences) {
    report.notes = [...notes, 'no target could run the corpus (every kernel lacks the API: choose another --kernel)'];
  }
  report.status = statusOf(report.totals, report.notes);
  return report;
}

/** A pair that needs a look: it diverged, missed an expect, or its target faulted (not one left unrun). */
export function needsLook(r: ResultRecord): boolean {
  return r.outcome !== 'pass' && r.outcome !== 'unsupported' && r.outcome !== 'not-run';
}

/** "5 of 76 pairs": how much of the run was not run. */
export function notRunText(report: Report): string {
  return `${report.totals.notRun} of ${report.totals.sequences} pair${report.totals.sequences === 1 ? '' : 's'} not run`;
}

/** What the report's exit status means, for its last line. */
export function verdict(report: Report): string {
  const { same, differs } = report.comparison;
  const { errors, notRun } = report.totals;
  // Nothing went wrong but not everything ran: that is what to say, not "bad input".
  if (report.status === 2 && notRun > 0 && errors === 0 && report.notes.length === 0) {
    return report.interrupted
      ? `interrupted by ${report.interrupted.signal}: ${notRunText(report)}`
      : `not finished: ${notRunText(report)} (continue the run with --resume)`;
  }
  // Exit 1 with no divergent step: only expects failed, and that is what to say.
  const { divergentSteps, expectFailures } = report.totals;
  const one =
    divergentSteps === 0 && expectFailures > 0 ? `${expectFailures} expect${expectFailures === 1 ? '' : 's'} failed, no divergence` : differs;
  return { 0: same, 1: one, 2: 'bad input, an unusable target or a missed deadline', 3: 'a kernel crashed or hung' }[report.status];
}

/** The kernel x arch summary table: its text columns, then its count columns. */
export const TEXT_COLUMNS = ['kernel', 'arch', 'release', 'profile'];
const COUNT_COLUMNS = ['sequences', 'steps', 'divergent steps', 'failed expects', 'unsupported', 'faults'];

function countCells(c: Counts): string[] {
  return [c.sequences, c.steps, c.divergentSteps, c.expectFailures, c.unsupported, c.errors + c.crashes].map(String);
}

/** The summary table's cells, header first and the totals row last (its first cell says "total"). */
export function summaryRows(report: Report): string[][] {
  return [
    [...TEXT_COLUMNS, ...COUNT_COLUMNS],
    ...report.targets.map((s) => [
      s.target.kernel,
      s.target.arch,
      s.releases.join(', ') || '-',
      s.profiles.join(', ') || '-',
      ...countCells(s.counts),
    ]),
    ['total', ...TEXT_COLUMNS.slice(1).map(() => ''), ...countCells(report.totals)],
  ];
}

/** "2 divergent steps, 1 failed expect": what went wrong in a failed pair, in a few words. */
export function failureSummary(r: ResultRecord): string {
  const parts: string[] = [];
  const n = (count: number, what: string) => `${count} ${what}${count === 1 ? '' : 's'}`;
  if (r.divergences.length) parts.push(n(r.divergences.length, 'divergent step'));
  const expects = distinctExpectFailures(r.expectFailures).length;
  if (expects) parts.push(n(expects, 'failed expect'));
  if (r.fault) parts.push(`${r.fault.kind}: ${r.fault.message}`);
  return parts.join(', ');
}
