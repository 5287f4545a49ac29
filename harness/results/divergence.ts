// What went wrong in a pair, laid out for people: a divergent step as every field of both
// results side by side (and of the reference answer, where there is one), the differing ones
// marked, the call written out, a query's order as chains; a failed expect as one line, once for
// both sides. Shared by the terminal, JUnit, TAP and Markdown renderers.

import { diffStep } from '../replay/step-diff.js';
import type { StepResult } from '../../contract/seq.js';
import type { Comparison, RecordedDivergence, ResultRecord, SideExpectFailure } from './records.js';
import { answerText, chainText } from './step-text.js';

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
  const lines = [stepHeading(div), ...(div.verdict ? [`  ${div.verdict}`] : []), `    ${'field'.padEnd(pathWidth)}  ${line(names)}`];
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

/** `step 3: link_create l1 prog=c dev=v0 tcx_ingress BEFORE relative=a(fd)`, or `step 3 (link_create)` without the call. */
export function stepHeading(div: RecordedDivergence): string {
  return div.call ? `step ${div.step}: ${div.call}` : `step ${div.step} (${div.op})`;
}

/** Where a query's order differs: each side's attach order as a chain (`b -> a(l1) -> c`). */
export function chainLines(div: RecordedDivergence, comparison: Comparison): string[] {
  if (!div.fields.some((f) => /^query\.(prog_ids|link_ids)/.test(f.path))) return [];
  const sides: [string, StepResult | undefined][] = [
    [comparison.left, div.left],
    [comparison.right, div.right],
    ...(div.reference && comparison.reference ? [[comparison.reference, div.reference] as [string, StepResult]] : []),
  ];
  const width = Math.max(...sides.map(([name]) => name.length)) + 1;
  return sides.map(([name, r]) => `${`${name}:`.padEnd(width)} ${r?.query ? chainText(r.query) : r ? answerText(r) : 'no answer'}`);
}

/** The divergences a report shows in full (the first; every one with `verbose`), and the steps of the rest. */
export function shownDivergences(r: ResultRecord, verbose: boolean): { shown: RecordedDivergence[]; later: number[] } {
  const shown = verbose ? r.divergences : r.divergences.slice(0, 1);
  return { shown, later: r.divergences.slice(shown.length).map((d) => d.step) };
}

/** `3 more divergent steps (7, 9, 12): all in results.jsonl; --verbose shows them`. */
export function laterLine(later: number[]): string {
  const steps = later.length > 8 ? `${later.slice(0, 8).join(', ')}, …` : later.join(', ');
  return `${later.length} more divergent step${later.length === 1 ? '' : 's'} (${steps}): all in results.jsonl; --verbose shows them`;
}

/** The failed expects, each once: the same step missing the same way on both sides is one, naming both. */
export function distinctExpectFailures(failures: SideExpectFailure[]): { f: SideExpectFailure; sides: string[] }[] {
  const byText = new Map<string, { f: SideExpectFailure; sides: string[] }>();
  for (const f of failures) {
    const key = `${f.step}\u0000${f.mismatches.join('; ')}`;
    const seen = byText.get(key);
    if (seen) seen.sides.push(f.side);
    else byText.set(key, { f, sides: [f.side] });
  }
  return [...byText.values()];
}

/** `step 3 (query), kernel and emulator: query.count: expected 2, got 1`, a line per distinct failure. */
export function expectFailureLines(failures: SideExpectFailure[]): string[] {
  return distinctExpectFailures(failures).map(({ f, sides }) => `step ${f.step} (${f.op}), ${sides.join(' and ')}: ${f.mismatches.join('; ')}`);
}
