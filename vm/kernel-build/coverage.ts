// The coverage build (`mprog kernel build SRC --coverage`): gcov counters compiled into the attach
// code only, each object named in its own Makefile (`GCOV_PROFILE_<obj>.o := y`, as
// kernel/gcov/Kconfig describes) with kernel-configs/coverage.fragment (debugfs and
// CONFIG_GCOV_KERNEL, never GCOV_PROFILE_ALL: the rest of the kernel stays as fast as without).
// What a report needs later is kept with the image: each object's .gcno (the compiler's notes)
// and the source it was compiled from, under `coverage/<path>` of the kernel's cache directory,
// and, for a patched build, the lines the patches added or changed in those sources.

import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { repoRoot } from '../runtime/paths.js';
import { runBuildStep } from './build-steps.js';

/** The attach code: every file whose functions a sequence reaches through bpf(2), rtnetlink and cgroupfs. */
export const COVERAGE_SOURCES = [
  'kernel/bpf/mprog.c',
  'kernel/bpf/tcx.c',
  'drivers/net/netkit.c',
  'kernel/bpf/cgroup.c',
  'kernel/bpf/syscall.c',
  'net/core/dev.c',
  'net/sched/sch_ingress.c',
] as const;

/** The directory, under a coverage kernel's cache directory, holding its .gcno files and sources. */
export const COVERAGE_DIR = 'coverage';

export function coverageFragmentPath(): string {
  return join(repoRoot(), 'kernel-configs', 'coverage.fragment');
}

/** The sources of COVERAGE_SOURCES this tree has (netkit came in 6.7). */
export function instrumentedSources(tree: string): string[] {
  return COVERAGE_SOURCES.filter((s) => existsSync(join(tree, s)));
}

/** Turns gcov on for each instrumented source in its directory's Makefile; returns those sources. */
export function instrumentTree(tree: string): string[] {
  const sources = instrumentedSources(tree);
  for (const s of sources) {
    const makefile = join(tree, dirname(s), 'Makefile');
    const line = `GCOV_PROFILE_${basename(s, '.c')}.o := y`;
    if (!readFileSync(makefile, 'utf8').split('\n').includes(line)) appendFileSync(makefile, `\n# mprog --coverage\n${line}\n`);
  }
  return sources;
}

/** Copies each source and its .gcno (from the object tree `obj`) into `out`/coverage; returns the paths kept, relative to `out`. */
export function keepCoverageNotes(tree: string, obj: string, sources: readonly string[], out: string): string[] {
  const kept: string[] = [];
  for (const s of sources) {
    const gcno = s.replace(/\.c$/, '.gcno');
    for (const [from, rel] of [
      [join(tree, s), s],
      [join(obj, gcno), gcno],
    ] as const) {
      const to = join(out, COVERAGE_DIR, rel);
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(from, to);
      kept.push(join(COVERAGE_DIR, rel));
    }
  }
  return kept;
}

/** Each instrumented source's text before the patches, to find the lines they change. */
export function sourcesBefore(tree: string, sources: readonly string[]): Map<string, string> {
  return new Map(sources.map((s) => [s, readFileSync(join(tree, s), 'utf8')]));
}

/** The new-side lines of each hunk of a `diff -U0`: the lines the change added or changed. */
export function addedLines(unifiedDiff: string): number[] {
  const lines: number[] = [];
  for (const m of unifiedDiff.matchAll(/^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/gm)) {
    const start = Number(m[1]);
    const count = m[2] === undefined ? 1 : Number(m[2]);
    for (let i = 0; i < count; i++) lines.push(start + i);
  }
  return lines;
}

/**
 * Per instrumented source the patches changed, its lines they added or changed (in the patched
 * file): diff(1) of the text before and the file after, whatever the number of patches.
 */
export async function patchedLines(what: string, tree: string, before: Map<string, string>): Promise<Record<string, number[]>> {
  const changed: Record<string, number[]> = {};
  const scratch = mkdtempSync(join(tmpdir(), 'mprog-patched-'));
  try {
    for (const [source, text] of before) {
      if (readFileSync(join(tree, source), 'utf8') === text) continue;
      const old = join(scratch, basename(source));
      writeFileSync(old, text);
      // diff exits 1 when the files differ: that is the case here, not a failure.
      const out = await runBuildStep(what, 'sh', ['-c', 'diff -U0 -- "$1" "$2"; [ $? -le 1 ]', 'sh', old, join(tree, source)], {
        step: `finding the lines the patches changed in ${source}`,
      });
      changed[source] = addedLines(out);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return changed;
}
