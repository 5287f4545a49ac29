// Kernel coverage (issue 22) on a real kernel: `mprog kernel build debian-6.12 --coverage`
// (built once, then cached) has gcov counters in the attach code only; it boots and agrees with
// the emulator on the shipped corpus like any other kernel, and conform on it writes what the
// kernel ran as lcov data (genhtml accepts it) naming every instrumented file; a line that one
// file of a run alone reaches shows as hit with that file and not without it; fuzz and diff on it
// report it too; `mprog merge` sums the shards' coverage.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ConformDone, runConform } from '../../harness/conform/run.js';
import { type BuiltKernel, buildKernel } from '../../vm/kernel-build/build.js';
import { COVERAGE_SOURCES } from '../../vm/kernel-build/coverage.js';

const MINUTE = 60_000;

const mprog = (...args: string[]) => execa('node', ['bin/mprog.js', ...args], { reject: false, env: { NO_COLOR: '1' } });

/** The files a tracefile names, in order. */
const namedFiles = (info: string) => [...info.matchAll(/^SF:(.*)$/gm)].map((m) => m[1]);

let kernel: BuiltKernel;

beforeAll(async () => {
  kernel = await buildKernel({ source: 'debian-6.12', patches: [], configs: [], arch: 'x86_64', coverage: true });
}, 90 * MINUTE);

function conformOn(corpus: string[], on: BuiltKernel = kernel, shard: { index: number; count: number } | null = null): Promise<ConformDone> {
  return runConform({
    corpus,
    kernels: [on.image],
    arches: [on.arch],
    host: false,
    shard,
    profile: null,
    outDir: mkdtempSync(join(tmpdir(), 'mprog-coverage-')),
    jobs: 1,
    resume: false,
  });
}

/** The `DA:` counts and `FNDA:` counts of one file of an lcov tracefile. */
function lcovOf(info: string, source: string): { lines: Map<number, number>; functions: Map<string, number> } {
  const record = info.split('end_of_record').find((r) => r.includes(`SF:${source}\n`));
  expect(record, `${source} in coverage.info`).toBeDefined();
  const lines = new Map<number, number>();
  const functions = new Map<string, number>();
  for (const [, line, count] of record!.matchAll(/^DA:(\d+),(\d+)$/gm)) lines.set(Number(line), Number(count));
  for (const [, count, name] of record!.matchAll(/^FNDA:(\d+),(\S+)$/gm)) functions.set(name!, Number(count));
  return { lines, functions };
}

describe('a coverage build of debian-6.12', () => {
  it('instruments the attach code only and keeps its notes with the image', () => {
    expect(kernel.coverage?.sources).toEqual([...COVERAGE_SOURCES]);
    const config = readFileSync(kernel.config!, 'utf8');
    expect(config).toContain('\nCONFIG_GCOV_KERNEL=y\n');
    expect(config).toContain('\nCONFIG_DEBUG_FS=y\n');
    expect(config).not.toContain('\nCONFIG_GCOV_PROFILE_ALL=y');
    for (const s of COVERAGE_SOURCES) {
      expect(existsSync(join(kernel.coverage!.dir, s))).toBe(true);
      expect(existsSync(join(kernel.coverage!.dir, s.replace(/\.c$/, '.gcno')))).toBe(true);
    }
  });

  it('agrees with the emulator on the shipped corpus, and conform reports what the kernel ran', { timeout: 60 * MINUTE }, async () => {
    const done = await conformOn(['test/sequences', 'corpus']);
    const notPassed = done.report.pairs.filter((p) => p.record.outcome !== 'pass');
    expect(notPassed.map((p) => `${p.record.sequence}: ${p.record.outcome}`)).toEqual([]);
    expect(done.report.pairs.length).toBeGreaterThan(90);
    const [report] = done.coverage;
    expect(report?.lost).toBe(0);
    const info = readFileSync(join(done.outDir, 'coverage.info'), 'utf8');
    expect(namedFiles(info)).toEqual([...COVERAGE_SOURCES]);
    // genhtml accepted it: the index and a page per file.
    expect(existsSync(join(done.outDir, 'coverage', 'index.html'))).toBe(true);
    expect(existsSync(join(done.outDir, 'coverage', 'kernel', 'bpf', 'mprog.c.gcov.html'))).toBe(true);
    // The corpus runs every entry point of the mprog API.
    const mprog = lcovOf(info, 'kernel/bpf/mprog.c');
    for (const fn of ['bpf_mprog_attach', 'bpf_mprog_detach', 'bpf_mprog_query']) expect(mprog.functions.get(fn), fn).toBeGreaterThan(0);
    const summary = readFileSync(join(done.outDir, 'summary.md'), 'utf8');
    expect(summary).toContain('## Kernel coverage');
    expect(summary).toMatch(/\| `kernel\/bpf\/tcx\.c` \| \d+\/\d+ \(\d+\.\d%\) \|/);
  });

  it('shows a line one file of a run alone reaches as hit with that file, and not without it', { timeout: 30 * MINUTE }, async () => {
    // corpus/tcx never adds a qdisc; corpus/qdisc/lifetime.json adds an ingress one (ingress_init).
    const without = await conformOn(['corpus/tcx']);
    const withIt = await conformOn(['corpus/tcx', 'corpus/qdisc/lifetime.json']);
    for (const done of [without, withIt]) expect(done.report.pairs.filter((p) => p.record.outcome !== 'pass')).toEqual([]);
    const before = lcovOf(readFileSync(join(without.outDir, 'coverage.info'), 'utf8'), 'net/sched/sch_ingress.c');
    const after = lcovOf(readFileSync(join(withIt.outDir, 'coverage.info'), 'utf8'), 'net/sched/sch_ingress.c');
    expect(before.functions.get('ingress_init')).toBe(0);
    expect(after.functions.get('ingress_init')).toBeGreaterThan(0);
    const reached = [...after.lines].filter(([line, count]) => count > 0 && before.lines.get(line) === 0).map(([line]) => line);
    expect(reached.length).toBeGreaterThan(5);
  });

  it("is merged across the shards of a run by mprog merge: every count the sum of the shards'", { timeout: 30 * MINUTE }, async () => {
    const corpus = ['corpus/tcx', 'corpus/qdisc/lifetime.json'];
    const shards = [await conformOn(corpus, kernel, { index: 1, count: 2 }), await conformOn(corpus, kernel, { index: 2, count: 2 })];
    const out = mkdtempSync(join(tmpdir(), 'mprog-coverage-merged-'));
    const merge = await mprog('merge', ...shards.map((d) => d.outDir), '--out', out);
    expect(merge.stderr).toBe('');
    expect(merge.exitCode).toBe(0);
    expect(merge.stdout).toMatch(/^kernel coverage on qemu:\S+ \(coverage\.info, coverage\/index\.html\)$/m);
    const info = readFileSync(join(out, 'coverage.info'), 'utf8');
    expect(namedFiles(info)).toEqual([...COVERAGE_SOURCES]);
    for (const source of ['kernel/bpf/mprog.c', 'net/sched/sch_ingress.c']) {
      const [a, b] = shards.map((d) => lcovOf(readFileSync(join(d.outDir, 'coverage.info'), 'utf8'), source));
      const merged = lcovOf(info, source);
      for (const [line, count] of merged.lines) expect(count, `${source}:${line}`).toBe(a!.lines.get(line)! + b!.lines.get(line)!);
      for (const [fn, count] of merged.functions) expect(count, fn).toBe(a!.functions.get(fn)! + b!.functions.get(fn)!);
    }
    // The shard that replayed lifetime.json added the ingress qdisc; the merged run did too.
    expect(lcovOf(info, 'net/sched/sch_ingress.c').functions.get('ingress_init')).toBeGreaterThan(0);
    expect(existsSync(join(out, 'coverage', 'kernel', 'bpf', 'mprog.c.gcov.html'))).toBe(true);
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toContain('## Kernel coverage');
  });

  it('is what kernel build --coverage prints, and fuzz and diff on it report its coverage too', { timeout: 30 * MINUTE }, async () => {
    const build = await mprog('kernel', 'build', 'debian-6.12', '--coverage');
    expect(build.exitCode).toBe(0);
    expect(build.stdout).toMatch(/ \+ coverage \(x86_64\): Linux 6\.12\.\d+\n/);
    expect(build.stdout.trim().split('\n').at(-1)).toBe(kernel.image);
    const fuzzOut = mkdtempSync(join(tmpdir(), 'mprog-coverage-fuzz-'));
    const fuzz = await mprog('fuzz', '-t', `qemu:${kernel.image}:x86_64`, '--sequences', '30', '--seed', '1', '-o', fuzzOut);
    expect(fuzz.exitCode).toBe(0);
    expect(fuzz.stdout).toMatch(/^ {2}kernel\/bpf\/mprog\.c: lines [1-9]\d*\/\d+ /m);
    expect(namedFiles(readFileSync(join(fuzzOut, 'coverage.info'), 'utf8'))).toEqual([...COVERAGE_SOURCES]);
    const diffOut = mkdtempSync(join(tmpdir(), 'mprog-coverage-diff-'));
    const diff = await mprog(
      'diff',
      '--base',
      'mprog-6.12',
      '--kernel',
      kernel.image,
      '--fuzz',
      '10',
      '--seed',
      '1',
      '-o',
      diffOut,
      'corpus/qdisc/lifetime.json',
    );
    expect(diff.exitCode).toBe(0);
    // Only the kernel under test is a coverage build: its report has the plain names.
    expect(namedFiles(readFileSync(join(diffOut, 'coverage.info'), 'utf8'))).toEqual([...COVERAGE_SOURCES]);
    expect(existsSync(join(diffOut, 'coverage', 'index.html'))).toBe(true);
    expect(readFileSync(join(diffOut, 'summary.md'), 'utf8')).toContain(`## Kernel coverage\n\nkernel ${kernel.image}: `);
  });

  it("diff on a patched coverage build says which of the patch's lines ran: a branch no sequence reaches is named", {
    timeout: 60 * MINUTE,
  }, async () => {
    // The patch adds a comment, a test of the query's count (run by every query) and a return no count reaches.
    const build = await mprog('kernel', 'build', 'debian-6.12', '--coverage', '--patch', 'test/patches/mprog-query-unreached-branch.patch');
    expect(build.exitCode).toBe(0);
    const image = build.stdout.trim().split('\n').at(-1)!;
    const out = mkdtempSync(join(tmpdir(), 'mprog-coverage-patch-'));
    const diff = await mprog('diff', '--base', 'mprog-6.12', '--kernel', image, '--fuzz', '20', '--seed', '1', '-o', out, 'corpus/tcx');
    // No difference: a patch whose branch never ran changes nothing a sequence sees, which the coverage says.
    expect(diff.exitCode).toBe(0);
    // -O2 merges the return into the function's shared error exit: it has no line of its own, and
    // the test's branch never taken is what says it never ran.
    expect(diff.stdout).toContain(
      "the patch's lines: 3 added or changed in these files, 1 with code, 1 reached, 1 with a branch never taken\n" +
        '    branch never taken (1/2 taken): kernel/bpf/mprog.c:415  if (unlikely(count > BPF_MPROG_MAX))',
    );
    const summary = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(summary).toContain('| `kernel/bpf/mprog.c:414` | no code |  |');
    expect(summary).toMatch(/\| `kernel\/bpf\/mprog\.c:415` \| [1-9]\d* \| \*\*1\/2\*\* \| `if \(unlikely\(count > BPF_MPROG_MAX\)\)` \|/);
    expect(summary).toContain('| `kernel/bpf/mprog.c:416` | no code |  | `return -EOVERFLOW;` |');
  });

  it('for arm64 too: cross-built, read back with the cross gcov', { timeout: 60 * MINUTE }, async () => {
    const arm64 = await buildKernel({ source: 'debian-6.12', patches: [], configs: [], arch: 'arm64', coverage: true });
    const done = await conformOn(['corpus/tcx', 'corpus/qdisc/lifetime.json'], arm64);
    expect(done.report.pairs.filter((p) => p.record.outcome !== 'pass')).toEqual([]);
    const info = readFileSync(join(done.outDir, 'coverage.info'), 'utf8');
    expect(namedFiles(info)).toEqual([...COVERAGE_SOURCES]);
    expect(lcovOf(info, 'net/sched/sch_ingress.c').functions.get('ingress_init')).toBeGreaterThan(0);
    expect(lcovOf(info, 'kernel/bpf/mprog.c').functions.get('bpf_mprog_attach')).toBeGreaterThan(0);
  });
});
