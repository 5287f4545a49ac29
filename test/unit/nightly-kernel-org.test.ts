// The nightly's kernel.org lines (KERNEL_ORG): scripts/nightly-matrix.mjs takes each as the exact
// release `mprog kernels --kernel-org` resolved it to, so that the job's cache key names that
// release; a line kernel.org did not answer for tonight is left out with a warning.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../vm/runtime/paths.js';
import { readWorkflow } from '../workflow-runner.js';

const entry = (kernel: string, arch: string, asked: string, version: string | null, why: string | null = null) => ({
  kernel,
  arch,
  kind: 'kernel.org',
  asked,
  version,
  usable: why === null,
  why,
});

const listed = [
  { kernel: 'debian-6.12', arch: 'x86_64', kind: 'debian', version: '6.12.117-1', usable: true, why: null },
  { kernel: 'mprog-6.12', arch: 'x86_64', kind: 'built', version: '6.12.117-1', usable: true, why: null },
  entry('kernel.org-6.6.90', 'x86_64', '6.6', '6.6.90'),
  entry('kernel.org-7.5-rc2', 'x86_64', 'mainline', '7.5-rc2'),
  entry(
    'kernel.org-6.18',
    'x86_64',
    '6.18',
    null,
    'kernel.org: cannot fetch releases.json (https://www.kernel.org/releases.json): getaddrinfo ENOTFOUND',
  ),
];

const matrix = (env: Record<string, string>, input = listed) =>
  execa('node', ['scripts/nightly-matrix.mjs'], {
    input: JSON.stringify(input),
    reject: false,
    env: { SHARDS: '1', BUILT_KERNELS: 'mprog-6.12', FUZZ_KERNEL: 'mprog-6.12', FUZZ_ARCH: 'x86_64', ...env },
  });

describe('the nightly matrix: kernel.org lines', () => {
  it('names the workflow sets: 6.6, 6.12, 6.18 and mainline, listed by mprog kernels --kernel-org', () => {
    const wf = readWorkflow(join(repoRoot(), '.github', 'workflows', 'nightly.yml'));
    expect(String(wf.env?.['KERNEL_ORG'])).toBe('6.6 6.12 6.18 mainline');
    const run = wf.jobs['kernels']!.steps.map((s) => s.run ?? '').join('\n');
    expect(run).toMatch(/npx mprog kernels --json --kernel-org "\$KERNEL_ORG" > kernels\.json/);
    // The cache key names the exact release (matrix.kernel is kernel.org-X.Y.Z, matrix.version X.Y.Z).
    expect(readFileSync(join(repoRoot(), '.github', 'workflows', 'nightly.yml'), 'utf8')).toMatch(
      /key: mprog-\$\{\{ matrix\.arch \}\}-\$\{\{ matrix\.kernel \}\}-\$\{\{ matrix\.version \}\}/,
    );
  });

  it('takes each line as its exact release, and leaves out with a warning one kernel.org did not answer for', async () => {
    const r = await matrix({ KERNEL_ORG: '6.6 6.18 mainline' });
    expect(r.exitCode).toBe(0);
    const include = JSON.parse(r.stdout.split('\n')[0]!.replace(/^matrix=/, '')).include as Record<string, unknown>[];
    expect(include.map((e) => `${e['kernel']} ${e['version']}`)).toEqual([
      'debian-6.12 6.12.117-1',
      'mprog-6.12 6.12.117-1',
      'kernel.org-6.6.90 6.6.90',
      'kernel.org-7.5-rc2 7.5-rc2',
    ]);
    expect(r.stderr).toMatch(/::warning::kernel\.org 6\.18 \(x86_64\) left out tonight: kernel\.org: cannot fetch releases\.json/);
  });

  it('refuses a line mprog kernels was not asked for', async () => {
    const r = await matrix({ KERNEL_ORG: '6.12' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/kernel\.org 6\.12 \(x86_64\) is not in the output of mprog kernels/);
  });
});
