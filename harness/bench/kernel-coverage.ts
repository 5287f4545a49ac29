// `npm run bench -- --only kernel_`: how much of the attach code a coverage kernel (Debian's 6.12
// source, x86_64, `mprog kernel build debian-6.12 --coverage`) ran, per instrumented file: the
// share of its lines and of its branches that the shipped corpus reached (test/sequences and
// corpus/), that the transcribed selftests alone reached (the comparison), and that a 5-minute
// fuzz run reached.

import { basename, join } from 'node:path';
import type { CoverageTotals } from '../coverage/lcov.js';
import { coverageOfClosed } from '../coverage/report.js';
import { fuzz } from '../fuzz/run.js';
import { QemuTarget } from '../targets/qemu.js';
import { buildKernel } from '../../vm/kernel-build/build.js';
import { COVERAGE_SOURCES } from '../../vm/kernel-build/coverage.js';
import { repoRoot } from '../../vm/runtime/paths.js';
import { conformOnOne, scratch } from './conform.js';

const FUZZ_MS = 5 * 60_000;

/** What each set of keys measures: its key suffix. */
const RUNS = { corpus: '', selftests: '_selftests', fuzz: '_fuzz_5m' } as const;

/** `kernel/bpf/mprog.c` -> `mprog_c`. */
const fileKey = (source: string) => basename(source).replace(/\W/g, '_');

export function kernelCoverageKeys(): string[] {
  return Object.values(RUNS).flatMap((suffix) =>
    COVERAGE_SOURCES.flatMap((s) => [`kernel_line_coverage_${fileKey(s)}${suffix}`, `kernel_branch_coverage_${fileKey(s)}${suffix}`]),
  );
}

/** The files' totals of a run that must have agreed everywhere (a disagreement is no measurement). */
function onlyReport(what: string, reports: readonly { files: CoverageTotals[]; lost: number }[]): CoverageTotals[] {
  const [report] = reports;
  if (!report) throw new Error(`${what}: the kernel gave no coverage`);
  if (report.lost) throw new Error(`${what}: ${report.lost} guests' counters were lost with a fault`);
  return report.files;
}

async function conformTotals(image: string, corpus: string[]): Promise<CoverageTotals[]> {
  return scratch(async (outDir) => {
    const done = await conformOnOne(corpus, image, 'x86_64', outDir);
    if (done.report.status !== 0) throw new Error(`conform of ${corpus.join(' ')} on ${image} did not agree (exit ${done.report.status})`);
    return onlyReport(`conform of ${corpus.join(' ')}`, done.coverage);
  });
}

async function fuzzTotals(image: string, seed: number): Promise<CoverageTotals[]> {
  return scratch(async (outDir) => {
    const spec = `qemu:${image}:x86_64`;
    const target = new QemuTarget(spec);
    let report;
    try {
      report = await fuzz({ target, seed, sequences: Number.POSITIVE_INFINITY, maxSteps: 20, timeMs: FUZZ_MS, outDir });
    } finally {
      await target.close();
    }
    if (report.divergence || report.crash)
      throw new Error(`fuzz on ${spec} (seed ${seed}) found a divergence or a crash: run mprog fuzz with that seed`);
    return onlyReport('fuzz', await coverageOfClosed(outDir, [{ name: spec, target }]));
  });
}

const share = ([hit, all]: [number, number]) => (all ? Math.round((hit / all) * 1000) / 1000 : 0);

/** Measures every key of kernelCoverageKeys() into `out`. */
export async function measureKernelCoverage(out: Record<string, number>, seed: number): Promise<void> {
  const kernel = await buildKernel({ source: 'debian-6.12', patches: [], configs: [], arch: 'x86_64', coverage: true });
  const root = repoRoot();
  const runs: Record<keyof typeof RUNS, () => Promise<CoverageTotals[]>> = {
    corpus: () => conformTotals(kernel.image, [join(root, 'test/sequences'), join(root, 'corpus')]),
    selftests: () => conformTotals(kernel.image, [join(root, 'test/sequences')]),
    fuzz: () => fuzzTotals(kernel.image, seed),
  };
  for (const [run, suffix] of Object.entries(RUNS) as [keyof typeof RUNS, string][]) {
    for (const f of await runs[run]()) {
      out[`kernel_line_coverage_${fileKey(f.source)}${suffix}`] = share(f.lines);
      out[`kernel_branch_coverage_${fileKey(f.source)}${suffix}`] = share(f.branches);
    }
  }
  const missing = kernelCoverageKeys().filter((k) => out[k] === undefined);
  if (missing.length) throw new Error(`the coverage kernel reported no counts for ${missing.join(', ')}`);
}
