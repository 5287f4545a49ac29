// Every file mprog generates from a sequence (results.jsonl, junit.xml, results.tap, summary.md,
// repro.sh, the C reproducer) for a sequence whose name, description, file path and device names
// hold hostile text: each still parses as what it is, and the text comes back as it was written,
// never as markup, a directive, a comment's end or a command.

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { Parser as TapParser } from 'tap-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../../contract/target.js';
import { findProfile } from '../../emulator/profiles.js';
import { type ConformDone, runConform } from '../../harness/conform/run.js';
import { cReproducer } from '../../harness/reproducers/c.js';
import { shellReproducer } from '../../harness/reproducers/shell.js';
import { parseSequenceText } from '../../harness/sequences/parse.js';
import { EmulatorTarget } from '../../harness/targets/emulator.js';

/** Text that ends or opens every context a generated file has. */
const HOSTILE = "x */ #error no\n</testcase></testsuite><x y='1'/> | # SKIP $(touch pwned) `id` \\ \u0000\u001b[2J ```\n</details> ]]> &amp; '\"";
/** Device names as the parser takes them (printable ASCII, no "/", ":", "%", white space). */
const DEV = "v$(id)'`|<*";
const PEER = 'p";#<a>\\';

/** max 2 programs: the third attach diverges, so every report shows its failure in full. */
const MUTANT = { ...findProfile('6.12')!, name: 'mutant-max2', mprogMax: 2 };

function hostileSequence(): object {
  return {
    format: 'mprog-seq/1',
    name: `n${HOSTILE}`,
    description: HOSTILE,
    devices: [{ name: DEV, peer: PEER }],
    programs: ['a', 'b', 'c'],
    steps: [
      { op: 'prog_attach', prog: 'a', dev: DEV, attach_type: 'tcx_ingress' },
      { op: 'prog_attach', prog: 'b', dev: DEV, attach_type: 'tcx_ingress' },
      { op: 'prog_attach', prog: 'c', dev: DEV, attach_type: 'tcx_ingress', comment: HOSTILE },
      { op: 'query', dev: DEV, attach_type: 'tcx_ingress' },
      { op: 'dev_delete', dev: PEER },
    ],
  };
}

function standInHost(): Target {
  const emulator = new EmulatorTarget('6.12');
  return { spec: 'host', kernel: async () => release(), run: (seq, opts) => emulator.run(seq, opts), close: async () => {} };
}

describe('generated files for a sequence of hostile text', () => {
  let done: ConformDone;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mprog-hostile-'));
    // The file's path is user text too: a directory named with markup and a pipe.
    const corpus = join(dir, 'c<testcase x="|`#`');
    mkdirSync(corpus);
    writeFileSync(join(corpus, "s'$(x)&<.json"), JSON.stringify(hostileSequence()));
    done = await runConform({
      corpus: [corpus],
      kernels: [],
      arches: [],
      host: true,
      shard: null,
      profile: MUTANT,
      outDir: join(dir, 'out'),
      jobs: null,
      resume: false,
      openTarget: async () => standInHost(),
    });
    expect(done.report.totals.failed).toBe(1);
  });

  it('results.jsonl: every line JSON, the name as written', () => {
    const lines = readFileSync(join(done.outDir, 'results.jsonl'), 'utf8').trimEnd().split('\n');
    const records = lines.map((l) => JSON.parse(l) as { type: string; name?: string });
    expect(records.find((r) => r.type === 'result')?.name).toBe(`n${HOSTILE}`);
  });

  it('junit.xml: valid XML, one testcase, its name and file attributes back as written (controls escaped)', () => {
    const text = readFileSync(join(done.outDir, 'junit.xml'), 'utf8');
    expect(XMLValidator.validate(text)).toBe(true);
    const xml = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '',
      htmlEntities: true,
      isArray: (n) => ['testsuite', 'testcase'].includes(n),
    }).parse(text);
    const cases = xml.testsuites.testsuite[0].testcase as { name: string; file: string; failure?: unknown }[];
    expect(cases).toHaveLength(1);
    // A newline is a character reference (a parser would make a raw one a space); NUL and ESC have no XML form at all.
    expect(cases[0]!.name).toBe(`n${HOSTILE}`.replace('\u0000', '\\u0000').replace('\u001b', '\\u001b'));
    expect(cases[0]!.file).toContain("s'$(x)&<.json");
    expect(cases[0]!.failure).toBeDefined();
  });

  it('results.tap: one test point, no directive or line made from the name', async () => {
    const text = readFileSync(join(done.outDir, 'results.tap'), 'utf8');
    const parser = new TapParser();
    const failures: unknown[] = [];
    const asserts: { ok: boolean; skip: unknown; name: string }[] = [];
    parser.on('assert', (a) => asserts.push(a));
    parser.on('bailout', (b) => failures.push(b));
    const complete = new Promise<{ ok: boolean; count: number; failures: unknown[] }>((resolve) => parser.on('complete', resolve));
    parser.end(text);
    const result = await complete;
    expect(failures).toEqual([]);
    expect(result.count).toBe(1);
    expect(asserts).toHaveLength(1);
    expect(asserts[0]!.ok).toBe(false);
    expect(asserts[0]!.skip).toBeFalsy();
    // Every parse problem tap-parser reports (bad YAML, lines it cannot place) is a failure entry other than the test's own.
    expect(result.failures.filter((f) => (f as { tapError?: string }).tapError)).toEqual([]);
    expect(text).not.toMatch(/[\u0000\u001b]/);
  });

  it('summary.md: the HTML it opens is the HTML it closes, no raw markup, pipe, fence or control from the text', () => {
    const md = readFileSync(join(done.outDir, 'summary.md'), 'utf8');
    expect(md.match(/<details>/g)).toHaveLength(1);
    expect(md.match(/<\/details>/g)).toHaveLength(1);
    expect(md).not.toContain('</testcase>');
    expect(md).not.toContain('$(touch pwned) `id`');
    expect(md).not.toMatch(/[\u0000\u001b]/);
    // The table rows keep their column count.
    const rows = md.split('\n').filter((l) => l.startsWith('| host'));
    for (const r of rows) expect(r.split(/(?<!\\)\|/).length).toBe(12);
  });

  it('repro.sh: a script sh reads as one, the names and the text in it inert', async () => {
    const seq = parseSequenceText(JSON.stringify(hostileSequence()), 'hostile.json');
    const made = shellReproducer(seq);
    if (!('script' in made)) throw new Error(made.inexpressible.join('; '));
    const file = join(dir, 'repro.sh');
    writeFileSync(file, made.script);
    const check = await execa('sh', ['-n', file], { reject: false });
    expect(check.stderr).toBe('');
    expect(check.exitCode).toBe(0);
    expect(made.script).not.toMatch(/[\u0000\u001b]/);
  });

  it('the C reproducer: compiles with gcc -Wall -Werror, no text of the sequence as code', async () => {
    const seq = parseSequenceText(JSON.stringify(hostileSequence()), 'hostile.json');
    const file = join(dir, 'repro.c');
    writeFileSync(file, cReproducer(seq));
    const cc = await execa('gcc', ['-fsyntax-only', '-Wall', '-Werror', file], { reject: false });
    expect(cc.stderr).toBe('');
    expect(cc.exitCode).toBe(0);
  });
});
