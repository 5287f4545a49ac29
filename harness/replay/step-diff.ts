// Step-by-step comparison of two targets' normalised results.

import { isDeepStrictEqual } from 'node:util';
import type { StepResult } from '../../contract/seq.js';

export interface FieldDiff {
  /** e.g. "errno", "query.prog_ids", "link_info.dev". */
  path: string;
  left: unknown;
  right: unknown;
}

export interface StepDivergence {
  step: number;
  op: string;
  left: StepResult | undefined;
  right: StepResult | undefined;
  fields: FieldDiff[];
}

/** The leaf fields of a result that can differ, by path. */
function fields(result: StepResult | undefined): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (!result) return out;
  out.set('ok', result.ok);
  out.set('errno', result.errno);
  for (const part of ['query', 'link_info'] as const) {
    const obj = result[part] as Record<string, unknown> | undefined;
    if (!obj) continue;
    for (const [key, value] of Object.entries(obj)) out.set(`${part}.${key}`, value);
  }
  return out;
}

/** The fields on which two results of one step disagree. */
export function diffStep(left: StepResult | undefined, right: StepResult | undefined): FieldDiff[] {
  const l = fields(left);
  const r = fields(right);
  const paths = [...new Set([...l.keys(), ...r.keys()])];
  return paths.filter((p) => !isDeepStrictEqual(l.get(p), r.get(p))).map((path) => ({ path, left: l.get(path), right: r.get(path) }));
}

/** Every step whose results disagree, in step order. */
export function diffResults(left: StepResult[], right: StepResult[]): StepDivergence[] {
  const out: StepDivergence[] = [];
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const diffs = diffStep(left[i], right[i]);
    if (diffs.length) out.push({ step: i, op: (left[i] ?? right[i])!.op, left: left[i], right: right[i], fields: diffs });
  }
  return out;
}
