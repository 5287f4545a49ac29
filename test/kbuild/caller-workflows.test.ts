// Another repository uses mprog in its CI (issue 25): a caller repository of its own (a git tree
// with two sequences, one of whose expects is wrong) runs the composite action (`action/`) in a
// workflow of its own, and calls the reusable workflow (`.github/workflows/conform-call.yml`) —
// their steps run here as GitHub's runner would (test/workflow-runner.ts), on debian-6.12 x86_64.

import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheRoot, repoRoot } from '../../vm/runtime/paths.js';
import { type JobResult, readWorkflow, runJob } from '../workflow-runner.js';

const MINUTE = 60_000;
const MPROG = 'example/mprog';

/** The caller's own workflow: mprog checked out beside its tree, the action run on its sequences. */
const CALLER_WORKFLOW = (pins: { checkout: string; setupNode: string; cache: string }) => `
on: push
jobs:
  conform:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@${pins.checkout}
      - uses: actions/checkout@${pins.checkout}
        with: { repository: ${MPROG}, path: .mprog }
      - uses: actions/setup-node@${pins.setupNode}
        with: { node-version: 20 }
      - uses: actions/cache@${pins.cache}
        with: { path: .cache, key: mprog }
      - id: mprog
        uses: ./.mprog/action
        with: { corpus: tests/mprog, kernel: debian-6.12 }
      - name: Status
        run: echo "mprog said ${'$'}{{ steps.mprog.outputs.status }}"
`;

describe('a repository of its own calling mprog', () => {
  let root: string;
  let caller: string;
  let common: Omit<Parameters<typeof runJob>[2], 'matrix' | 'needs' | 'inputs'>;
  const failing = (job: JobResult) => job.steps.filter((s) => s.outcome === 'failure').map((s) => `${s.name}: ${s.log.slice(-3000)}`);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'mprog-caller-'));
    caller = join(root, 'caller');
    mkdirSync(join(caller, 'tests', 'mprog'), { recursive: true });
    cpSync(join(repoRoot(), 'corpus/tcx/link-update.json'), join(caller, 'tests/mprog/link-update.json'));
    const bad = JSON.parse(readFileSync(join(repoRoot(), 'corpus/tcx/revision.json'), 'utf8'));
    bad.name = 'ours/revision-wrong-expect';
    bad.steps[0].expect.query.revision = 5;
    writeFileSync(join(caller, 'tests/mprog/wrong-expect.json'), JSON.stringify(bad));
    // The caller pins the actions as mprog's own workflows do.
    const ci = readFileSync(join(repoRoot(), '.github/workflows/ci.yml'), 'utf8');
    const sha = (action: string) => new RegExp(`uses: actions/${action}@([0-9a-f]{40})`).exec(ci)![1]!;
    mkdirSync(join(caller, '.github', 'workflows'), { recursive: true });
    writeFileSync(
      join(caller, '.github/workflows/mprog.yml'),
      CALLER_WORKFLOW({ checkout: sha('checkout'), setupNode: sha('setup-node'), cache: sha('cache') }),
    );
    await execa('git', ['init', '-q'], { cwd: caller });
    // The runner's actions/cache gives .cache from here: mprog's own cache, as the action's MPROG_CACHE.
    const cache = join(root, 'cache');
    mkdirSync(cache);
    symlinkSync(cacheRoot(), join(cache, 'mprog'));
    const artifacts = join(root, 'artifacts');
    mkdirSync(artifacts);
    common = { root, repo: caller, artifacts, cache, repositories: { [MPROG]: repoRoot() } };
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('runs the composite action in its own workflow: the report in its summary, conform status 1 as an output', {
    timeout: 30 * MINUTE,
  }, async () => {
    const wf = readWorkflow(join(caller, '.github/workflows/mprog.yml'));
    const job = await runJob(wf, 'conform', { ...common, inputs: {} });
    expect(failing(job)).toEqual([]);
    expect(job.steps.find((s) => s.name === 'Status')!.log).toBe('mprog said 1');
    expect(job.summary).toMatch(/ours\/revision-wrong-expect/);
    expect(readdirSync(join(job.workspace, 'out/mprog'))).toEqual(expect.arrayContaining(['results.jsonl', 'junit.xml', 'summary.md']));
  });

  it('calls the reusable workflow: a job per kernel x arch x shard, one merged report, the verdict failing on the wrong expect', {
    timeout: 30 * MINUTE,
  }, async () => {
    const wf = readWorkflow(join(repoRoot(), '.github/workflows/conform-call.yml'));
    const inputs = { corpus: 'tests/mprog', shards: '2', 'mprog-repository': MPROG };
    const plan = await runJob(wf, 'plan', { ...common, inputs });
    expect(failing(plan)).toEqual([]);
    const matrix = JSON.parse(plan.outputs['matrix']!) as { include: Record<string, string | number>[] };
    expect(matrix.include).toEqual([
      { kernel: 'debian-6.12', arch: 'x86_64', shard: 1, shards: 2 },
      { kernel: 'debian-6.12', arch: 'x86_64', shard: 2, shards: 2 },
    ]);
    const needs = { plan: { result: 'success', outputs: plan.outputs } };
    for (const entry of matrix.include) {
      const part = await runJob(wf, 'conform', { ...common, inputs, matrix: entry, needs });
      expect(failing(part)).toEqual([]);
    }
    const merge = await runJob(wf, 'merge', { ...common, inputs, needs: { ...needs, conform: { result: 'success', outputs: {} } } });
    expect(merge.steps.filter((s) => s.outcome !== 'success').map((s) => s.name)).toEqual(['Verdict']);
    expect(merge.outputs['status']).toBe('1');
    expect(merge.summary).toMatch(/ours\/revision-wrong-expect/);
  });
});
