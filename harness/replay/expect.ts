// Matching a step's result against its `expect`: every field the expect gives must be equal.

import { isDeepStrictEqual } from 'node:util';
import type { Expect, StepResult } from '../../contract/seq.js';

/** The differences between `expect` and `result`, as "field: expected X, got Y" lines. */
export function expectMismatches(expect: Expect, result: StepResult): string[] {
  const out: string[] = [];
  const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));
  const check = (path: string, want: unknown, got: unknown) => {
    if (!isDeepStrictEqual(want, got)) out.push(`${path}: expected ${show(want)}, got ${show(got)}`);
  };
  if (expect.ok !== undefined) check('ok', expect.ok, result.ok);
  if (expect.errno !== undefined) check('errno', expect.errno, result.errno);
  if (expect.beyond_size !== undefined) check('beyond_size', expect.beyond_size, result.beyond_size ?? false);
  for (const part of ['query', 'link_info'] as const) {
    const want = expect[part];
    if (!want) continue;
    const got = result[part] as Record<string, unknown> | undefined;
    if (!got) {
      out.push(`${part}: expected ${show(want)}, got no ${part}${result.errno ? ` (${result.errno})` : ''}`);
      continue;
    }
    for (const [key, value] of Object.entries(want)) check(`${part}.${key}`, value, got[key]);
  }
  return out;
}
