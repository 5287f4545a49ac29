// A coverage kernel's counters read into per-file coverage: each guest's .gcda beside the build's
// .gcno in scratch, through the gcov of the compiler that built the kernel (`gcov --json-format`,
// the cross gcov for arm64), and the guests' counts summed. Why gcov's JSON and not lcov's
// geninfo: geninfo wants the build's object tree as it was (the scratch paths the .gcno names);
// the JSON names a file as the compiler saw it, which mprog maps onto the sources kept with the
// image, and keeps only the instrumented sources (not the headers their inline functions are in).

import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { GcdaFile, KernelCounters } from '../../contract/coverage.js';
import { runTool } from '../../vm/runtime/run-tool.js';

/** What a run reached in one source: counts by line, by function, and each line's branches. */
export interface FileCoverage {
  /** Relative to the tree: `kernel/bpf/mprog.c`. */
  source: string;
  lines: Map<number, number>;
  functions: Map<string, { line: number; count: number }>;
  /** Per line, the count of each of its branches (in gcov's order); null: the line never ran. */
  branches: Map<number, (number | null)[]>;
}

const GCOV = { x86_64: 'gcov', arm64: 'aarch64-linux-gnu-gcov' } as const;

/** The part of gcov's JSON (format 1, gcc 9 and later) read here. */
interface GcovJson {
  files: {
    file: string;
    functions: { name: string; start_line: number; execution_count: number }[];
    lines: { line_number: number; count: number; branches: { count: number }[] }[];
  }[];
}

/** The instrumented source a .gcda belongs to (`<objtree>/kernel/bpf/mprog.gcda`), if any. */
function sourceOf(gcda: string, sources: readonly string[]): string | undefined {
  return sources.find((s) => gcda === s.replace(/\.c$/, '.gcda') || gcda.endsWith(`/${s.replace(/\.c$/, '.gcda')}`));
}

/** gcov's reading of one .gcda with its .gcno: the entry of `source` in its JSON. */
async function readGcda(counters: KernelCounters, source: string, gcda: GcdaFile, scratch: string): Promise<GcovJson['files'][number] | undefined> {
  const base = join(scratch, source.replace(/\.c$/, ''));
  mkdirSync(dirname(base), { recursive: true });
  writeFileSync(`${base}.gcda`, gcda.data);
  copyFileSync(join(counters.notesDir, source.replace(/\.c$/, '.gcno')), `${base}.gcno`);
  // -b: the branches too; -t: the JSON on stdout, not in a .gcov.json.gz.
  const out = await runTool(GCOV[counters.arch], ['--json-format', '--stdout', '-b', `${base}.gcda`], {
    what: `reading ${source}'s gcov counters`,
    cwd: scratch,
  });
  const json = JSON.parse(out) as GcovJson;
  // The compiler names it as make passed it: `../kernel/bpf/mprog.c` from the object tree.
  return json.files.find((f) => f.file === source || f.file.endsWith(`/${source}`));
}

function fileFor(all: Map<string, FileCoverage>, source: string): FileCoverage {
  let f = all.get(source);
  if (!f) all.set(source, (f = { source, lines: new Map(), functions: new Map(), branches: new Map() }));
  return f;
}

/** Adds one gcov reading of `source` into its coverage (counts summed across guests). */
function addReading(f: FileCoverage, reading: GcovJson['files'][number]): void {
  for (const fn of reading.functions) {
    const had = f.functions.get(fn.name);
    f.functions.set(fn.name, { line: fn.start_line, count: (had?.count ?? 0) + fn.execution_count });
  }
  for (const l of reading.lines) {
    f.lines.set(l.line_number, (f.lines.get(l.line_number) ?? 0) + l.count);
    if (!l.branches.length) continue;
    const had = f.branches.get(l.line_number) ?? [];
    f.branches.set(
      l.line_number,
      l.branches.map((b, i) => {
        const sum = (had[i] ?? 0) + b.count;
        return f.lines.get(l.line_number) ? sum : null;
      }),
    );
  }
}

/** Every instrumented source's coverage, from every dump of `counters`, in the order of `counters.sources`. */
export async function readCounters(counters: KernelCounters): Promise<FileCoverage[]> {
  const all = new Map<string, FileCoverage>();
  const scratch = mkdtempSync(join(tmpdir(), 'mprog-gcov-'));
  try {
    for (const s of counters.sources) fileFor(all, s);
    for (const [i, dump] of counters.dumps.entries()) {
      for (const gcda of dump) {
        const source = sourceOf(gcda.path, counters.sources);
        if (!source) continue; // an object instrumented beyond the list (a user's own Makefile line)
        const reading = await readGcda(counters, source, gcda, join(scratch, String(i)));
        if (reading) addReading(fileFor(all, source), reading);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return counters.sources.map((s) => all.get(s)!);
}
