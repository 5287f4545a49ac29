// What went wrong in a pair, laid out for people: a divergent step as every field of both
// results side by side, the differing ones marked; a failed expect as one line. Shared by the
// terminal, JUnit, TAP and Markdown renderers.

import { type StepDivergence, diffStep } from '../diff.js';
import type { StepResult } from '../../contract/seq.js';
import type { SideExpectFailure } from './records.js';

export interface FieldRow {
  path: string;
  kernel: string;
  emulator: string;
  differs: boolean;
}

/** A field's value as shown: compact JSON, or a dash for a field the result does not have. */
function showValue(value: unknown): string {
  return value === undefined ? '-' : JSON.stringify(value);
}

/**
 * The fields a result has, by diff.ts's paths. A result diffed against nothing differs in
 * exactly its present fields, so diffStep() gives them without a second flattening here.
 */
function presentFields(result: StepResult | undefined): Map<string, unknown> {
  return new Map(diffStep(result, undefined).map((f) => [f.path, f.left]));
}

export function fieldRows(div: StepDivergence): FieldRow[] {
  const kernel = presentFields(div.left);
  const emulator = presentFields(div.right);
  const differing = new Set(div.fields.map((f) => f.path));
  const paths = [...new Set([...kernel.keys(), ...emulator.keys()])];
  return paths.map((path) => ({
    path,
    kernel: showValue(kernel.get(path)),
    emulator: showValue(emulator.get(path)),
    differs: differing.has(path),
  }));
}

/** A plain-text table: `*` marks the fields that differ. Used where no richer markup exists. */
export function divergenceText(div: StepDivergence, width = 100): string {
  const rows = fieldRows(div);
  const pathWidth = Math.max(5, ...rows.map((r) => r.path.length));
  const room = Math.max(12, Math.floor((width - pathWidth - 8) / 2));
  const column = Math.min(room, Math.max(6, ...rows.map((r) => r.kernel.length).filter((n) => n <= room)));
  const lines = [`step ${div.step} (${div.op})`, `    ${'field'.padEnd(pathWidth)}  ${'kernel'.padEnd(column)}  emulator`];
  for (const r of rows) {
    const mark = r.differs ? '  * ' : '    ';
    if (r.kernel.length <= column && r.emulator.length <= room) {
      lines.push(`${mark}${r.path.padEnd(pathWidth)}  ${r.kernel.padEnd(column)}  ${r.emulator}`);
    } else {
      // Too wide to sit side by side (long id lists): one under the other, still aligned.
      lines.push(`${mark}${r.path}`, `${' '.repeat(8)}kernel:   ${r.kernel}`, `${' '.repeat(8)}emulator: ${r.emulator}`);
    }
  }
  return lines.join('\n');
}

/** `step 3 (query), kernel: query.count: expected 2, got 1`. */
export function expectFailureLine(f: SideExpectFailure): string {
  return `step ${f.step} (${f.op}), ${f.side}: ${f.mismatches.join('; ')}`;
}
