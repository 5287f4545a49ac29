// The nightly workflow's own steps run here on a small matrix — the kernels job for real, one
// kernel in two shards, the merge job and a short fuzz job on mprog-6.12 (built here once, then
// cached) — so that a broken step fails here and not at night. The corpus has one sequence whose
// expect is wrong: the shards must still pass it on, and the merge job must publish it and fail.

import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheRoot, repoRoot } from '../../vm/runtime/paths.js';
import { type JobResult, readWorkflow, runJob } from '../workflow-runner.js';

const MINUTE = 60_000;
const WORKFLOWS = join(repoRoot(), '.github', 'workflows');

describe('nightly.yml, its steps run here', () => {
  const wf = readWorkflow(join(WORKFLOWS, 'nightly.yml'));
  // Jobs' workspaces (each with its own node_modules), artifacts and the corpus, made when a test
  // of this block runs and removed at its end.
  let common: Omit<Parameters<typeof runJob>[2], 'matrix' | 'needs'>;
  const timings: string[] = [];
  /** Runs a job and notes its steps' wall times (printed at the end, for the README's numbers). */
  const run = async (job: string, opts: Partial<Parameters<typeof runJob>[2]> = {}) => {
    const r = await runJob(wf, job, { ...common, ...opts });
    timings.push(`${job} ${JSON.stringify(opts.matrix ?? {})}: ${r.steps.map((s) => `${s.name} ${s.seconds.toFixed(0)}s`).join(', ')}`);
    return r;
  };
  const failing = (job: JobResult) => job.steps.filter((s) => s.outcome === 'failure').map((s) => `${s.name}: ${s.log.slice(-3000)}`);
  /** The kernels job, run once for the tests that need its outputs, whichever runs first. */
  let kernelsRun: Promise<JobResult> | undefined;
  const kernelsJob = (): Promise<JobResult> => (kernelsRun ??= run('kernels'));

  afterAll(() => {
    console.log(`step wall times:\n${timings.join('\n')}`);
    rmSync(common.root, { recursive: true, force: true });
  });

  beforeAll(() => {
    const root = mkdtempSync(join(tmpdir(), 'mprog-wf-'));
    const artifacts = join(root, 'artifacts');
    const corpus = join(root, 'corpus');
    mkdirSync(artifacts);
    mkdirSync(corpus);
    common = { root, repo: repoRoot(), artifacts, cache: cacheRoot(), inputs: { shards: '2', corpus, fuzz_time: '15s' } };
    // Three sequences that agree everywhere, and one whose first expect is wrong on every target.
    for (const f of ['revision.json', 'link-update.json', 'errno-query.json']) cpSync(join(repoRoot(), 'corpus/tcx', f), join(corpus, f));
    const bad = JSON.parse(readFileSync(join(repoRoot(), 'corpus/tcx/revision.json'), 'utf8'));
    bad.name = 'tcx/revision-wrong-expect';
    bad.steps[0].expect.query.revision = 5;
    writeFileSync(join(corpus, 'wrong-expect.json'), JSON.stringify(bad));
  });

  it('kernels: lists the kernels and computes both matrices from them', { timeout: 10 * MINUTE }, async () => {
    const kernels = await kernelsJob();
    expect(failing(kernels)).toEqual([]);
    const listed = JSON.parse(readFileSync(join(kernels.workspace, 'kernels.json'), 'utf8')) as {
      kernel: string;
      arch: string;
      kind: string;
      usable: boolean;
      version: string;
    }[];
    const matrix = JSON.parse(kernels.outputs['matrix']!) as {
      include: { kernel: string; arch: string; version: string; shard: number; shards: number }[];
    };
    // Every usable Debian series and mprog-6.12, on both arches, twice (two shards).
    const expected = listed.filter((k) => (k.kind === 'debian' && k.usable) || k.kernel === 'mprog-6.12');
    expect(new Set(expected.map((k) => k.arch))).toEqual(new Set(['x86_64', 'arm64']));
    expect(matrix.include).toHaveLength(expected.length * 2);
    for (const k of expected) {
      expect(matrix.include.filter((e) => e.kernel === k.kernel && e.arch === k.arch)).toEqual([
        { kernel: k.kernel, arch: k.arch, version: k.version, shard: 1, shards: 2 },
        { kernel: k.kernel, arch: k.arch, version: k.version, shard: 2, shards: 2 },
      ]);
    }
    expect(listed.find((k) => k.kernel === 'debian-6.1')).toMatchObject({ usable: false });
    // Tonight's package lists, for the other jobs to resolve the same versions.
    expect(readdirSync(join(common.artifacts, 'apt-lists', 'lists')).some((f) => /_sid_main_binary-arm64_Packages/.test(f))).toBe(true);
    expect(JSON.parse(kernels.outputs['fuzz']!)).toEqual({ include: [{ kernel: 'mprog-6.12', arch: 'x86_64', version: expect.any(String) }] });
  });

  it('conform (debian-6.12 x86_64, 2 shards) and merge: one report, published, and the run fails on the disagreement', {
    timeout: 20 * MINUTE,
  }, async () => {
    const kernels = await kernelsJob();
    const matrix = JSON.parse(kernels.outputs['matrix']!) as { include: Record<string, string | number>[] };
    const picked = matrix.include.filter((e) => e.kernel === 'debian-6.12' && e.arch === 'x86_64');
    expect(picked).toHaveLength(2);
    const needs = { kernels: { result: 'success', outputs: kernels.outputs } };
    for (const entry of picked) {
      const shard = await run('conform', { matrix: entry, needs });
      // The wrong expect is a finding for the merge job, not a failed shard.
      expect(failing(shard)).toEqual([]);
      expect(readdirSync(join(common.artifacts, `conform-debian-6.12-x86_64-${entry.shard}`))).toEqual(
        expect.arrayContaining(['results.jsonl', 'junit.xml', 'summary.md']),
      );
    }

    const merge = await run('merge', { needs: { ...needs, conform: { result: 'success', outputs: {} } } });
    // Every step but the verdict succeeds; the verdict carries merge's exit status 1.
    expect(merge.steps.filter((s) => s.outcome !== 'success').map((s) => s.name)).toEqual(['Verdict']);
    expect(merge.summary).toMatch(/wrong-expect/);
    const junit = new XMLParser({ ignoreAttributes: false }).parse(readFileSync(join(merge.workspace, 'out/merged/junit.xml'), 'utf8'));
    const cases = [junit.testsuites.testsuite].flat().flatMap((s: { testcase: unknown }) => [s.testcase].flat()) as {
      '@_name': string;
      failure?: unknown;
    }[];
    expect(cases).toHaveLength(4);
    expect(cases.filter((c) => c.failure !== undefined).map((c) => c['@_name'])).toEqual([expect.stringMatching(/wrong-expect/)]);
    expect(existsSync(join(common.artifacts, 'merged-report', 'results.jsonl'))).toBe(true);
  });

  it('fuzz: a short run on its kernel, coverage uploaded', { timeout: 20 * MINUTE }, async () => {
    const kernels = await kernelsJob();
    const entry = (JSON.parse(kernels.outputs['fuzz']!) as { include: Record<string, string>[] }).include[0]!;
    const fuzz = await run('fuzz', { matrix: entry, needs: { kernels: { result: 'success', outputs: kernels.outputs } } });
    expect(failing(fuzz)).toEqual([]);
    expect(fuzz.steps.find((s) => s.name === 'Fuzz')!.log).toMatch(/no divergence in \d+ sequences/);
    expect(existsSync(join(common.artifacts, 'fuzz-mprog-6.12-x86_64', 'coverage.json'))).toBe(true);
  });
});
