// The attr dimension's own kernel patch (issue 21): BPF_PROG_QUERY_LAST_FIELD one field short
// (query.link_attach_flags), so a query with a non-zero query.revision on input (a reused attr)
// is EINVAL. No sequence with the agent's own zeroed attr can see it; `mprog diff --fuzz 200`
// must find it through the generator's raw bytes in output fields and shrink it to the query.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffOfPatch } from '../patch-diff.js';

const MINUTE = 60_000;

describe('mprog diff on a patch only attr sequences see', () => {
  it('finds BPF_PROG_QUERY_LAST_FIELD one field short by fuzzing, shrunk to one query with raw revision bytes', {
    timeout: 60 * MINUTE,
  }, async () => {
    const { out, fuzzed } = await diffOfPatch('query-last-field-short.patch');
    expect(fuzzed.length).toBeGreaterThan(0);
    for (const d of fuzzed) {
      const minimal = JSON.parse(readFileSync(join(out, d, 'minimal.json'), 'utf8')) as { steps: { op: string; raw?: { at: number }[] }[] };
      expect(minimal.steps.length).toBeLessThanOrEqual(3);
      const query = minimal.steps.at(-1)!;
      expect(query.op).toBe('query');
      expect(query.raw?.some((b) => b.at >= 56 && b.at < 64)).toBe(true);
      const details = JSON.parse(readFileSync(join(out, d, 'difference.json'), 'utf8')) as { diff: { fields: { path: string; right: unknown }[] }[] };
      expect(details.diff.flatMap((s) => s.fields)).toContainEqual(expect.objectContaining({ path: 'errno', right: 'EINVAL' }));
    }
    const records = readFileSync(join(out, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { outcome?: string });
    expect(records.filter((x) => x.outcome === 'error' || x.outcome === 'crash')).toEqual([]);
  });
});
