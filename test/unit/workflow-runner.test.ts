// test/workflow-runner.ts, the runner of the GitHub workflows' steps here: its expression
// evaluator, the runner files it reads back (GITHUB_OUTPUT, hashFiles) and how it runs a job
// (env, if:, outputs, summary, matrix and needs, actions), on small workflows written here and on
// the project's own .github/workflows.

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../vm/runtime/paths.js';
import {
  type Context,
  type RunJobOptions,
  type Value,
  type Workflow,
  Expr,
  artifactName,
  condition,
  hashFiles,
  interpolate,
  parseOutputs,
  readWorkflow,
  runJob,
  truthy,
} from '../workflow-runner.js';

const WORKFLOWS = join(repoRoot(), '.github', 'workflows');

const CTX: Context = {
  inputs: { shards: '', corpus: 'corpus/tcx' },
  matrix: { kernel: 'debian-6.12', shard: 2 },
  needs: { kernels: { result: 'success', outputs: { matrix: '{"include":[{"kernel":"debian-6.12"}]}' } } },
  steps: {},
  env: {},
};
const FNS: Record<string, (...args: Value[]) => Value> = {
  always: () => true,
  success: () => true,
  failure: () => false,
  fromJSON: (s) => JSON.parse(String(s)) as Value,
  join: (...parts) => parts.map(String).join('+'),
};
const evaluate = (text: string, ctx: Context = CTX) => Expr.eval(text, ctx, FNS);

describe('expressions', () => {
  it("reads literals: quoted strings ('' is a quote), numbers, booleans and null", () => {
    expect(evaluate("'it''s'")).toBe("it's");
    expect(evaluate("''")).toBe('');
    expect(evaluate('42')).toBe(42);
    expect(evaluate('-1.5')).toBe(-1.5);
    expect(evaluate('true')).toBe(true);
    expect(evaluate('false')).toBe(false);
    expect(evaluate('null')).toBe(null);
  });

  it('gives || and && the value of the side that decides, as GitHub does', () => {
    expect(evaluate("inputs.shards || '1'")).toBe('1');
    expect(evaluate("inputs.corpus || 'corpus'")).toBe('corpus/tcx');
    expect(evaluate("inputs.corpus && 'yes'")).toBe('yes');
    expect(evaluate("inputs.shards && 'yes'")).toBe('');
    expect(evaluate("false || 0 || ''")).toBe('');
    // && binds tighter than ||.
    expect(evaluate('true || false && false')).toBe(true);
    expect(evaluate('(true || false) && false')).toBe(false);
  });

  it('compares as strings, negates by truthiness', () => {
    expect(evaluate("needs.kernels.result == 'success'")).toBe(true);
    expect(evaluate("needs.kernels.result != 'success'")).toBe(false);
    expect(evaluate("matrix.shard == '2'")).toBe(true);
    expect(evaluate('!inputs.shards')).toBe(true);
    expect(evaluate('!!inputs.corpus')).toBe(true);
    expect(evaluate("always() && needs.kernels.result == 'success'")).toBe(true);
    for (const v of ['', null, false, 0] as Value[]) expect(truthy(v)).toBe(false);
    for (const v of ['0', 'false', 1, {}, []] as Value[]) expect(truthy(v)).toBe(true);
  });

  it("reads properties, a missing one as '', and calls functions with their arguments", () => {
    expect(evaluate('matrix.kernel')).toBe('debian-6.12');
    expect(evaluate('matrix.nothing')).toBe('');
    expect(evaluate('matrix.nothing.deeper')).toBe('');
    expect(evaluate('fromJSON(needs.kernels.outputs.matrix)')).toEqual({ include: [{ kernel: 'debian-6.12' }] });
    expect(evaluate("join('a', 'b', matrix.shard)")).toBe('a+b+2');
    expect(evaluate('always()')).toBe(true);
  });

  it('refuses what it does not know, naming the expression', () => {
    expect(() => evaluate('secrets.TOKEN')).toThrow(/expression "secrets.TOKEN": unknown context "secrets"/);
    expect(() => evaluate("contains('ab', 'a')")).toThrow(/function contains\(\) is not supported here/);
    expect(() => evaluate("'a' 'b'")).toThrow(/unexpected "'b'"/);
    expect(() => evaluate('(true')).toThrow(/missing \)/);
    expect(() => evaluate("join('a'")).toThrow(/missing \)/);
    expect(() => evaluate('matrix.')).toThrow(/a property name must follow "."/);
    expect(() => evaluate('matrix.kernel > 1')).toThrow(/unexpected "> 1"/);
  });

  it('interpolates every ${{ }} of a text, objects as JSON', () => {
    expect(interpolate('k=${{ matrix.kernel }} s=${{matrix.shard}}', CTX, FNS)).toBe('k=debian-6.12 s=2');
    expect(interpolate('${{ fromJSON(needs.kernels.outputs.matrix) }}', CTX, FNS)).toBe('{"include":[{"kernel":"debian-6.12"}]}');
    expect(interpolate('none here', CTX, FNS)).toBe('none here');
    expect(interpolate('${{ null }}|${{ inputs.shards }}', CTX, FNS)).toBe('|');
  });

  it('takes an if: with or without ${{ }}, and none as success()', () => {
    expect(condition("${{ matrix.kernel == 'debian-6.12' }}", CTX, FNS)).toBe(true);
    expect(condition("matrix.kernel == 'debian-6.1'", CTX, FNS)).toBe(false);
    expect(condition(undefined, CTX, FNS)).toBe(true);
    expect(condition(undefined, CTX, { ...FNS, success: () => false })).toBe(false);
    expect(condition('failure()', CTX, FNS)).toBe(false);
  });
});

describe('the files a step writes and the runner reads', () => {
  it('reads GITHUB_OUTPUT: NAME=value lines and NAME<<DELIMITER heredocs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mprog-wfr-'));
    const file = join(dir, 'output');
    writeFileSync(file, ['a=1', 'b=x=y', 'doc<<EOF', 'line 1', 'line 2', 'EOF', 'noise', 'c='].join('\n'));
    expect(parseOutputs(file)).toEqual({ a: '1', b: 'x=y', doc: 'line 1\nline 2', c: '' });
    expect(parseOutputs(join(dir, 'missing'))).toEqual({});
  });

  it('hashes files and dir/** by content, skips missing paths and refuses other globs', () => {
    const ws = mkdtempSync(join(tmpdir(), 'mprog-wfr-'));
    mkdirSync(join(ws, 'd/sub'), { recursive: true });
    writeFileSync(join(ws, 'a.txt'), 'a');
    writeFileSync(join(ws, 'd/one'), '1');
    writeFileSync(join(ws, 'd/sub/two'), '2');
    const dir = hashFiles(ws, 'd/**');
    expect(dir).toMatch(/^[0-9a-f]{64}$/);
    expect(hashFiles(ws, 'a.txt')).not.toBe(dir);
    expect(hashFiles(ws, 'a.txt', 'missing')).toBe(hashFiles(ws, 'a.txt'));
    writeFileSync(join(ws, 'd/sub/two'), '3');
    expect(hashFiles(ws, 'd/**')).not.toBe(dir);
    expect(() => hashFiles(ws, '*.txt')).toThrow(/only paths and dir\/\*\* are supported here/);
  });

  it('refuses an artifact name GitHub refuses', () => {
    expect(artifactName('conform-debian-6.12-x86_64-1')).toBe('conform-debian-6.12-x86_64-1');
    for (const bad of ['a/b', 'a:b', 'a*', 'a\nb']) expect(() => artifactName(bad)).toThrow(/a character GitHub refuses/);
  });
});

describe("the project's workflows", () => {
  /** Every string in a parsed YAML document. */
  const strings = (v: unknown): string[] =>
    typeof v === 'string' ? [v] : v !== null && typeof v === 'object' ? Object.values(v).flatMap(strings) : [];

  it.each(['ci.yml', 'nightly.yml'])('%s: every ${{ }} and if: is one the evaluator knows', (file) => {
    const wf = readWorkflow(join(WORKFLOWS, file));
    expect(Object.keys(wf.jobs).length).toBeGreaterThan(0);
    const ctx: Context = { inputs: {}, matrix: {}, needs: {}, steps: {}, env: {}, github: { workspace: '', event_name: 'workflow_dispatch' } };
    const fns = { ...FNS, fromJSON: () => ({}), hashFiles: () => '0'.repeat(64) };
    const texts = strings(wf);
    const expressions = texts.flatMap((t) => [...t.matchAll(/\$\{\{(.*?)\}\}/gs)].map((m) => m[1]!));
    expect(expressions.length).toBeGreaterThan(0);
    for (const e of expressions) expect(() => Expr.eval(e, ctx, fns), e).not.toThrow();
    const ifs = Object.values(wf.jobs)
      .flatMap((j) => [j.if, ...j.steps.map((s) => s.if)])
      .filter((c): c is string => c !== undefined);
    for (const c of ifs) expect(() => condition(c, ctx, fns), c).not.toThrow();
  });

  it('reads nightly.yml as the runner needs it: dispatch inputs, jobs with needs and steps', () => {
    const wf = readWorkflow(join(WORKFLOWS, 'nightly.yml'));
    expect(Object.keys(wf.on['workflow_dispatch']?.inputs ?? {}).sort()).toEqual(['corpus', 'fuzz_time', 'shards']);
    expect(Object.keys(wf.jobs)).toEqual(expect.arrayContaining(['kernels', 'conform', 'merge', 'fuzz']));
    expect(wf.jobs['merge']!.needs).toEqual(expect.arrayContaining(['kernels', 'conform']));
    for (const job of Object.values(wf.jobs)) for (const step of job.steps) expect(step.run !== undefined || step.uses !== undefined).toBe(true);
  });
});

describe('runJob', () => {
  // A work tree of two files (one untracked: checkout gives what git would commit) and the
  // runner's directories.
  let common: Omit<RunJobOptions, 'inputs'>;
  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'mprog-wfr-'));
    const repo = join(root, 'repo');
    mkdirSync(repo);
    await execa('git', ['init', '-q'], { cwd: repo });
    writeFileSync(join(repo, 'tracked.txt'), 'hello\n');
    writeFileSync(join(repo, '.gitignore'), 'ignored.txt\n');
    writeFileSync(join(repo, 'ignored.txt'), 'not checked out\n');
    await execa('git', ['add', 'tracked.txt', '.gitignore'], { cwd: repo });
    writeFileSync(join(repo, 'untracked.txt'), 'new\n');
    const artifacts = join(root, 'artifacts');
    mkdirSync(artifacts);
    common = { root, repo, artifacts, cache: join(root, 'cache') };
  });

  const workflow = (yaml: string): Workflow => parseYaml(yaml) as Workflow;
  const run = (wf: Workflow, job: string, opts: Partial<RunJobOptions> = {}) => runJob(wf, job, { ...common, inputs: {}, ...opts });

  it('runs each step with bash in a copy of the work tree, with env, outputs and the summary', async () => {
    const wf = workflow(`
on: { workflow_dispatch: { inputs: { greeting: { default: hi } } } }
env: { TOP: top }
jobs:
  one:
    runs-on: ubuntu-latest
    env: { JOB: "\${{ inputs.greeting }}-job" }
    outputs:
      said: \${{ steps.say.outputs.said }}
      doc: \${{ steps.say.outputs.doc }}
    steps:
      - uses: actions/checkout@v4
      - name: Files
        run: ls | sort | tr '\\n' ' '
      - id: say
        name: Say
        env: { STEP: "\${{ env.JOB }}-step" }
        run: |
          echo "said=$TOP $JOB $STEP" >> "$GITHUB_OUTPUT"
          printf 'doc<<END\\na\\nb\\nEND\\n' >> "$GITHUB_OUTPUT"
          echo '## summary' >> "$GITHUB_STEP_SUMMARY"
          test "$CI" = true && test "$GITHUB_ACTIONS" = true && test "$GITHUB_WORKSPACE" = "$PWD"
`);
    const r = await run(wf, 'one', { inputs: { greeting: 'hello' } });
    expect(r.steps.map((s) => [s.name, s.outcome])).toEqual([
      ['actions/checkout@v4', 'success'],
      ['Files', 'success'],
      ['Say', 'success'],
    ]);
    expect(r.ok).toBe(true);
    expect(r.steps[1]!.log).toBe('tracked.txt untracked.txt ');
    expect(readFileSync(join(r.workspace, 'tracked.txt'), 'utf8')).toBe('hello\n');
    expect(r.outputs).toEqual({ said: 'top hello-job hello-job-step', doc: 'a\nb' });
    expect(r.summary).toBe('## summary\n');
  });

  it('stops running steps after a failure, except those whose if: says always() or failure()', async () => {
    const wf = workflow(`
on: { workflow_dispatch: {} }
jobs:
  two:
    runs-on: ubuntu-latest
    steps:
      - { name: ok, run: 'true' }
      - { name: fails, run: 'echo out; false; echo never' }
      - { name: skipped, run: 'true' }
      - { name: cleanup, if: always(), run: 'true' }
      - { name: on failure, if: "\${{ failure() }}", run: 'echo handled' }
      - { name: on success, if: success(), run: 'true' }
`);
    const r = await run(wf, 'two');
    expect(r.ok).toBe(false);
    expect(r.steps.map((s) => `${s.name}: ${s.outcome}`)).toEqual([
      'ok: success',
      'fails: failure',
      'skipped: skipped',
      'cleanup: success',
      'on failure: success',
      'on success: skipped',
    ]);
    expect(r.steps[1]!.log).toBe('out');
    expect(r.steps[4]!.log).toBe('handled');
  });

  it('passes step outcomes and outputs to later steps, and skips a job whose if: is false', async () => {
    const wf = workflow(`
on: { workflow_dispatch: {} }
jobs:
  three:
    runs-on: ubuntu-latest
    needs: first
    if: needs.first.result == 'success'
    steps:
      - { id: a, run: 'echo "n=\${{ needs.first.outputs.n }}" >> "$GITHUB_OUTPUT"' }
      - { name: b, run: 'echo "\${{ steps.a.outcome }} \${{ steps.a.outputs.n }}"' }
`);
    const r = await run(wf, 'three', { needs: { first: { result: 'success', outputs: { n: '7' } } } });
    expect(r.steps[1]!.log).toBe('success 7');
    const skipped = await run(wf, 'three', { needs: { first: { result: 'failure', outputs: {} } } });
    expect(skipped.steps).toEqual([]);
    expect(skipped.ok).toBe(true);
  });

  it('checks a matrix entry against the strategy, and the needs and inputs it is given', async () => {
    const wf = workflow(`
on: { workflow_dispatch: { inputs: { known: {} } } }
jobs:
  four:
    runs-on: ubuntu-latest
    needs: [list]
    strategy:
      matrix: \${{ fromJSON(needs.list.outputs.matrix) }}
    steps:
      - run: echo "\${{ matrix.kernel }}"
`);
    const needs = { list: { result: 'success', outputs: { matrix: '{"include":[{"kernel":"a"},{"kernel":"b"}]}' } } };
    const r = await run(wf, 'four', { needs, matrix: { kernel: 'b' } });
    expect(r.steps[0]!.log).toBe('b');
    await expect(run(wf, 'four', { needs, matrix: { kernel: 'c' } })).rejects.toThrow(/\{"kernel":"c"\} is not in its matrix/);
    await expect(run(wf, 'four', { matrix: { kernel: 'a' } })).rejects.toThrow(/job four needs list: run it first/);
    await expect(run(wf, 'four', { needs, matrix: { kernel: 'a' }, inputs: { unknown: 'x' } })).rejects.toThrow(
      /input unknown is not declared by workflow_dispatch/,
    );
    await expect(run(wf, 'nope')).rejects.toThrow(/no job nope/);
  });

  it('refuses what it would not do as GitHub does: unknown step keys, other shells, unknown actions', async () => {
    const key = workflow(`
on: { workflow_dispatch: {} }
jobs: { five: { runs-on: x, steps: [{ name: s, run: 'true', continue-on-error: true }] } }
`);
    await expect(run(key, 'five')).rejects.toThrow(/step "s" of job five: "continue-on-error" is not one this runner does/);
    const shell = workflow(`
on: { workflow_dispatch: {} }
defaults: { run: { shell: sh } }
jobs: { five: { runs-on: x, steps: [{ run: 'true' }] } }
`);
    await expect(run(shell, 'five')).rejects.toThrow(/default shell sh: only bash is run here/);
    const action = workflow(`
on: { workflow_dispatch: {} }
jobs: { five: { runs-on: x, steps: [{ uses: some/action@v1 }, { run: 'true' }] } }
`);
    const r = await run(action, 'five');
    expect(r.steps.map((s) => s.outcome)).toEqual(['failure', 'skipped']);
    expect(r.steps[0]!.log).toMatch(/action some\/action@v1 is not one this runner can do/);
  });

  it('restores no cache in a Debian container before zstd is there (actions/cache would look for gzip), as GitHub does', async () => {
    const wf = (first: string) =>
      workflow(`
on: { workflow_dispatch: {} }
jobs:
  c:
    runs-on: x
    container: { image: 'debian:12' }
    steps:
${first}
      - { uses: actions/cache@v5, with: { path: .cache, key: k } }
`);
    const before = await run(wf(''), 'c');
    expect(before.steps.map((s) => s.outcome)).toEqual(['failure']);
    expect(before.steps[0]!.log).toMatch(/actions\/cache in debian:12 before zstd is installed/);
    const after = await run(wf("      - { run: 'true || apt-get install -qq -y zstd' }"), 'c');
    expect(after.steps.map((s) => s.outcome)).toEqual(['success', 'success']);
  });

  it("uploads artifacts to the run's directory and downloads them by name or pattern", async () => {
    const wf = workflow(`
on: { workflow_dispatch: {} }
jobs:
  up:
    runs-on: x
    steps:
      - run: mkdir -p out && echo one > out/a.txt
      - { uses: actions/upload-artifact@v4, with: { name: "part-\${{ matrix.n }}", path: out } }
      - { uses: actions/upload-artifact@v4, with: { name: nothing, path: none } }
  down:
    runs-on: x
    steps:
      - { uses: actions/download-artifact@v4, with: { name: part-1, path: one } }
      - { uses: actions/download-artifact@v4, with: { pattern: "part-*", path: all } }
      - run: cat one/a.txt all/part-1/a.txt all/part-2/a.txt | tr '\\n' ' '
      - { uses: actions/download-artifact@v4, with: { name: missing } }
`);
    const artifacts = mkdtempSync(join(tmpdir(), 'mprog-wfr-artifacts-'));
    for (const n of [1, 2]) {
      const up = await run(wf, 'up', { artifacts, matrix: { n } });
      expect(up.steps.map((s) => s.outcome)).toEqual(['success', 'success', 'success']);
      expect(up.steps[2]!.log).toBe('no files at none');
    }
    const again = await run(wf, 'up', { artifacts, matrix: { n: 1 } });
    expect(again.steps[1]!.log).toMatch(/artifact part-1 uploaded twice in one run/);
    const down = await run(wf, 'down', { artifacts });
    expect(down.steps.map((s) => s.outcome)).toEqual(['success', 'success', 'success', 'failure']);
    expect(down.steps[2]!.log).toBe('one one one ');
    expect(down.steps[3]!.log).toBe('download-artifact: no artifact missing');
  });
});
