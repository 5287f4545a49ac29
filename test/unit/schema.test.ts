// docs/mprog-seq.schema.json: what `npm run schema` writes from the parser's tables (so it cannot
// fall behind them), valid JSON Schema 2020-12 (ajv compiles it strictly), accepting every
// sequence mprog ships, and refusing the parser's own error cases but those only the whole
// file can show (names declared elsewhere, one of two names twice).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { sequenceSchema } from '../../harness/sequences/schema.js';
import { loadCorpus } from '../../harness/sequences/corpus.js';
import { repoRoot } from '../../vm/runtime/paths.js';
import { PARSE_ERROR_CASES } from '../parse-error-cases.js';

const file = join(repoRoot(), 'docs', 'mprog-seq.schema.json');
/** The cases no schema of one file's shape can see: they need the whole file. */
const WHOLE_FILE = /^(undeclared|duplicate|program where a link is needed|link named like a program|bad JSON)/;

describe('the JSON Schema of mprog-seq/1', () => {
  const validate = new Ajv2020({ strict: true, allErrors: true }).compile(JSON.parse(readFileSync(file, 'utf8')));

  it('is what the parser tables make (npm run schema writes it)', () => {
    expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(sequenceSchema(), null, 2)}\n`);
  });

  it('accepts every shipped sequence (corpus/, test/sequences/)', () => {
    const files = loadCorpus([join(repoRoot(), 'corpus'), join(repoRoot(), 'test', 'sequences')]).map((seq) => seq.file);
    expect(files.length).toBeGreaterThan(100);
    for (const f of files) expect(validate(JSON.parse(readFileSync(f, 'utf8'))) ? [] : validate.errors, f).toEqual([]);
  });

  it.each(PARSE_ERROR_CASES.filter(([what]) => !WHOLE_FILE.test(what)))('refuses what the parser refuses: %s', (_what, doc) => {
    expect(validate(typeof doc === 'string' ? JSON.parse('null') : doc)).toBe(false);
  });
});
