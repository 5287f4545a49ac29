// What went wrong in a pair, laid out for people: a divergent step as every field of both
// results side by side (and of the reference answer, where there is one), the differing ones
// marked; a failed expect as one line. Shared by the terminal, JUnit, TAP and Markdown renderers.

import { diffStep } from '../diff.js';
import type { StepResult } from '../../contract/seq.js';
import type { Comparison, RecordedDivergence, SideExpectFailure } from './records.js';

export interface FieldRow {
  path: string;
  left: string;
  right: string;
  /** The reference answer's value, when the divergence has one. */
  reference?: string;
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

export function fieldRows(div: RecordedDivergence): FieldRow[] {
  const left = presentFields(div.left);
  const right = presentFields(div.right);
  const reference = div.reference && presentFields(div.reference);
  const differing = new Set(div.fields.map((f) => f.path));
  const paths = [...new Set([...left.keys(), ...right.keys(), ...(reference?.keys() ?? [])])];
  return paths.map((path) => ({
    path,
    left: showValue(left.get(path)),
    right: showValue(right.get(path)),
    ...(reference && { reference: showValue(reference.get(path)) }),
    differs: differing.has(path),
  }));
}

/** A plain-text table: `*` marks the fields that differ. Used where no richer markup exists. */
export function divergenceText(div: RecordedDivergence, comparison: Comparison, width = 100): string {
  const rows = fieldRows(div);
  const names = [comparison.left, comparison.right, ...(div.reference && comparison.reference ? [comparison.reference] : [])];
  const values = (r: FieldRow) => [r.left, r.right, ...(r.reference === undefined ? [] : [r.reference])];
  const pathWidth = Math.max(5, ...rows.map((r) => r.path.length));
  const room = Math.max(12, Math.floor((width - pathWidth - 8) / names.length));
  const columns = names.map((name, i) => Math.min(room, Math.max(name.length, 6, ...rows.map((r) => values(r)[i]!.length).filter((n) => n <= room))));
  const line = (cells: string[]) => cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(columns[i]!) : c)).join('  ');
  const lines = [`step ${div.step} (${div.op})${div.verdict ? `: ${div.verdict}` : ''}`, `    ${'field'.padEnd(pathWidth)}  ${line(names)}`];
  const label = Math.max(...names.map((n) => n.length)) + 2;
  for (const r of rows) {
    const mark = r.differs ? '  * ' : '    ';
    if (values(r).every((v, i) => v.length <= columns[i]!)) {
      lines.push(`${mark}${r.path.padEnd(pathWidth)}  ${line(values(r))}`);
    } else {
      // Too wide to sit side by side (long id lists): one under the other, still aligned.
      lines.push(`${mark}${r.path}`, ...values(r).map((v, i) => `${' '.repeat(8)}${`${names[i]}:`.padEnd(label)}${v}`));
    }
  }
  return lines.join('\n');
}

/** `step 3 (query), kernel: query.count: expected 2, got 1`. */
export function expectFailureLine(f: SideExpectFailure): string {
  return `step ${f.step} (${f.op}), ${f.side}: ${f.mismatches.join('; ')}`;
}
