// What a fuzz run exercised on the target: each command's outcomes (OK or errno), each flag
// combination per command, and the entry sizes reached. Printed at the end and written to the
// out dir as coverage.json, so a run that "found nothing" can be judged by what it tried.

import type { Sequence, Step, StepResult } from '../../contract/seq.js';
import { flagsToJson } from '../sequences/write.js';

export interface CoverageReport {
  sequences: number;
  steps: number;
  /** op -> outcome ("OK" or an errno name) -> count. */
  outcomes: Record<string, Record<string, number>>;
  /** op -> flag combination ("0" or names joined by "|") -> count. */
  flags: Record<string, Record<string, number>>;
  /** Entry size -> how many sequences reached it on some attach point. */
  entrySizes: Record<string, number>;
  maxEntrySize: number;
}

function bump(table: Record<string, Record<string, number>>, key: string, sub: string): void {
  const row = (table[key] ??= {});
  row[sub] = (row[sub] ?? 0) + 1;
}

function flagsOf(step: Step): number | null {
  return 'flags' in step ? step.flags : null;
}

function flagCombination(flags: number): string {
  return flags === 0 ? '0' : flagsToJson(flags).join('|');
}

export class Coverage {
  private readonly report: CoverageReport = { sequences: 0, steps: 0, outcomes: {}, flags: {}, entrySizes: {}, maxEntrySize: 0 };

  /** One replayed sequence: its steps, the target's results, the entry sizes the generator saw. */
  record(seq: Sequence, results: StepResult[], sizes: readonly number[]): void {
    this.report.sequences++;
    this.report.steps += results.length;
    results.forEach((result, i) => {
      const step = seq.steps[i]!;
      bump(this.report.outcomes, step.op, result.ok ? 'OK' : (result.errno ?? '?'));
      const flags = flagsOf(step);
      if (flags !== null) bump(this.report.flags, step.op, flagCombination(flags));
    });
    for (const size of sizes) {
      this.report.entrySizes[size] = (this.report.entrySizes[size] ?? 0) + 1;
      this.report.maxEntrySize = Math.max(this.report.maxEntrySize, size);
    }
  }

  toJSON(): CoverageReport {
    return this.report;
  }

  /** A few lines for a terminal. */
  format(): string {
    const row = (counts: Record<string, number>) =>
      Object.entries(counts)
        .sort(([, a], [, b]) => b - a)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
    const r = this.report;
    const sizes = Object.keys(r.entrySizes)
      .map(Number)
      .sort((a, b) => a - b);
    return [
      `coverage: ${r.sequences} sequences, ${r.steps} steps`,
      'outcomes per command:',
      ...Object.entries(r.outcomes).map(([op, c]) => `  ${op}: ${row(c)}`),
      'flag combinations per command:',
      ...Object.entries(r.flags).map(([op, c]) => `  ${op}: ${Object.keys(c).length} combinations: ${row(c)}`),
      `entry sizes reached (max ${r.maxEntrySize}): ${sizes.join(' ')}`,
    ].join('\n');
  }
}
