// Writes docs/mprog-seq.schema.json from the parser's tables (harness/sequences/schema.ts; run
// `npm run build` first). test/unit/schema.test.ts fails when the file is not what this writes.
import { writeFileSync } from 'node:fs';
import { sequenceSchema } from '../dist/harness/sequences/schema.js';

writeFileSync(new URL('../docs/mprog-seq.schema.json', import.meta.url), `${JSON.stringify(sequenceSchema(), null, 2)}\n`);
