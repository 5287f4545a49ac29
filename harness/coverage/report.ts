// A coverage kernel's report in an output directory: lcov data (`coverage.info`, the format
// kernel developers read with genhtml, lcov and their editors), genhtml's HTML of it
// (`coverage/index.html`: every line of every instrumented source, hit or not), and the summary
// that summary.md and the terminal show, per file: lines, functions, branches.

import { appendFileSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { KernelCounters } from '../../contract/coverage.js';
import type { Target } from '../../contract/target.js';
import { runTool } from '../../vm/runtime/run-tool.js';
import { type FileCoverage, readCounters } from './gcov.js';

export interface CoverageTotals {
  source: string;
  lines: [hit: number, all: number];
  functions: [hit: number, all: number];
  branches: [hit: number, all: number];
}

export interface CoverageReport {
  target: string;
  /** The lcov file and the HTML directory, inside the output directory. */
  info: string;
  html: string;
  files: CoverageTotals[];
  /** A patched build's changed lines, each with what the run did with it (none for an unpatched one). */
  patch: PatchLine[];
  /** Guests whose counters went with a fault. */
  lost: number;
}

/** A line a patch added or changed in an instrumented source. */
export interface PatchLine {
  source: string;
  line: number;
  text: string;
  /** How often it ran; null: no code of its own (a comment, a declaration, or code the compiler merged elsewhere). */
  count: number | null;
  /** How often each of its branches was taken (none: no branch). */
  branches: number[];
}

/** Each line the patches changed, with its counts in `files`. */
export function patchLinesOf(counters: KernelCounters, files: readonly FileCoverage[]): PatchLine[] {
  return Object.entries(counters.patchLines).flatMap(([source, lines]) => {
    const text = readFileSync(join(counters.notesDir, source), 'utf8').split('\n');
    const f = files.find((c) => c.source === source);
    return lines.map((line) => ({
      source,
      line,
      text: text[line - 1]?.trim() ?? '',
      count: f?.lines.get(line) ?? null,
      branches: (f?.branches.get(line) ?? []).map((b) => b ?? 0),
    }));
  });
}

const hits = (counts: Iterable<number | null>): [number, number] => {
  let hit = 0;
  let all = 0;
  for (const c of counts) {
    all++;
    if (c) hit++;
  }
  return [hit, all];
};

export function totals(f: FileCoverage): CoverageTotals {
  return {
    source: f.source,
    lines: hits(f.lines.values()),
    functions: hits([...f.functions.values()].map((fn) => fn.count)),
    branches: hits([...f.branches.values()].flat()),
  };
}

/** The lcov tracefile of `files` (geninfo's format: lcov's geninfo(1) man page, "TRACEFILE FORMAT"), source names relative to the tree. */
export function lcovText(test: string, files: readonly FileCoverage[]): string {
  const out: string[] = [];
  for (const f of files) {
    const t = totals(f);
    out.push(`TN:${test.replace(/[^\w]/g, '_')}`, `SF:${f.source}`);
    for (const [name, fn] of f.functions) out.push(`FN:${fn.line},${name}`);
    for (const [name, fn] of f.functions) out.push(`FNDA:${fn.count},${name}`);
    out.push(`FNF:${t.functions[1]}`, `FNH:${t.functions[0]}`);
    for (const [line, counts] of f.branches) for (const [i, c] of counts.entries()) out.push(`BRDA:${line},0,${i},${c ?? '-'}`);
    out.push(`BRF:${t.branches[1]}`, `BRH:${t.branches[0]}`);
    for (const [line, count] of [...f.lines].sort((a, b) => a[0] - b[0])) out.push(`DA:${line},${count}`);
    out.push(`LF:${t.lines[1]}`, `LH:${t.lines[0]}`, 'end_of_record');
  }
  return `${out.join('\n')}\n`;
}

/** `coverage.info` and `coverage/` for the one coverage target of a run; a name of their own (`coverage-<target>`) for each when there are several. */
function namesFor(target: string, several: boolean): { info: string; html: string } {
  const base = several ? `coverage-${target.replace(/[^\w.-]+/g, '_')}` : 'coverage';
  return { info: `${base}.info`, html: base };
}

/** Reads each target's counters and writes its lcov file and HTML into `outDir`. */
export async function writeCoverage(outDir: string, all: readonly { target: string; counters: KernelCounters }[]): Promise<CoverageReport[]> {
  const reports: CoverageReport[] = [];
  for (const { target, counters } of all) {
    const files = await readCounters(counters);
    const { info, html } = namesFor(target, all.length > 1);
    writeFileSync(join(outDir, info), lcovText(target, files));
    rmSync(join(outDir, html), { recursive: true, force: true });
    // genhtml reads each source where its SF: line says, relative to where it runs: the notes directory;
    // it makes them absolute (links resolved: the cache may be one), and --prefix takes that directory
    // off again (kernel/bpf/mprog.c.gcov.html).
    const notes = realpathSync(counters.notesDir);
    await runTool(
      'genhtml',
      ['--quiet', '--branch-coverage', '--prefix', notes, '--title', target, '--output-directory', resolve(outDir, html), resolve(outDir, info)],
      {
        what: `writing the HTML coverage report (genhtml, from Debian's lcov: scripts/setup.sh installs it)`,
        cwd: notes,
      },
    );
    reports.push({
      target,
      info,
      html: join(html, 'index.html'),
      files: files.map(totals),
      patch: patchLinesOf(counters, files),
      lost: counters.lost,
    });
  }
  return reports;
}

const ratio = ([hit, all]: [number, number]) => `${hit}/${all}${all ? ` (${((100 * hit) / all).toFixed(1)}%)` : ''}`;

const where = (p: PatchLine) => `${p.source}:${p.line}`;

/** What the run did with the patch's lines: how many ran, and each executable one that did not. */
function patchSummary(r: CoverageReport): string[] {
  if (!r.patch.length) return [];
  const code = r.patch.filter((p) => p.count !== null);
  const unreached = code.filter((p) => p.count === 0);
  // A branch of a line that ran, never taken: where -O2 merged the code it leads to into a shared
  // exit, that code has no line of its own and only the branch says it never ran.
  const untaken = code.filter((p) => p.count! > 0 && p.branches.includes(0));
  return [
    `  the patch's lines: ${r.patch.length} added or changed in these files, ${code.length} with code, ${code.length - unreached.length} reached, ${untaken.length} with a branch never taken`,
    ...unreached.map((p) => `    NOT reached: ${where(p)}  ${p.text}`),
    ...untaken.map((p) => `    branch never taken (${branchRatio(p)} taken): ${where(p)}  ${p.text}`),
  ];
}

const branchRatio = (p: PatchLine) => `${p.branches.filter((b) => b > 0).length}/${p.branches.length}`;

/** One line per file, and the patch's lines: what the terminal shows after a run. */
export function coverageLines(r: CoverageReport): string[] {
  return [
    `kernel coverage on ${r.target} (${r.info}, ${r.html})${r.lost ? `: ${r.lost} guest(s) lost to faults, their counters missing` : ''}`,
    ...r.files.map((f) => `  ${f.source}: lines ${ratio(f.lines)}, functions ${ratio(f.functions)}, branches ${ratio(f.branches)}`),
    ...patchSummary(r),
  ];
}

/** The section summary.md gets. */
export function coverageMarkdown(reports: readonly CoverageReport[]): string {
  const out = ['', '## Kernel coverage', ''];
  for (const r of reports) {
    out.push(
      `${r.target}: [${r.info}](${r.info}), [HTML](${r.html})${r.lost ? `; ${r.lost} guest(s) lost to faults, their counters missing` : ''}`,
      '',
      '| file | lines | functions | branches |',
      '|---|---|---|---|',
      ...r.files.map((f) => `| \`${f.source}\` | ${ratio(f.lines)} | ${ratio(f.functions)} | ${ratio(f.branches)} |`),
      '',
    );
    if (r.patch.length) {
      out.push(
        "The lines the kernel's patches added or changed (count: how often the run ran it; no code: nothing of its own to run; branches: those taken):",
        '',
        '| line | count | branches | text |',
        '|---|---|---|---|',
        ...r.patch.map(
          (p) =>
            `| \`${where(p)}\` | ${p.count === null ? 'no code' : p.count === 0 ? '**not reached**' : p.count} | ${p.branches.length ? (p.branches.includes(0) ? `**${branchRatio(p)}**` : branchRatio(p)) : ''} | \`${p.text.replace(/\|/g, '\\|')}\` |`,
        ),
        '',
      );
    }
  }
  return out.join('\n');
}

/** Appends the coverage section to the run's summary.md. */
export function appendCoverageSummary(summaryFile: string, reports: readonly CoverageReport[]): void {
  if (reports.length) appendFileSync(summaryFile, coverageMarkdown(reports));
}

/** The report of each closed target that is a coverage kernel (`name` names it in the report), written into `outDir`. */
export async function coverageOfClosed(outDir: string, targets: readonly { name: string; target: Target }[]): Promise<CoverageReport[]> {
  const all: { target: string; counters: KernelCounters }[] = [];
  for (const { name, target } of targets) {
    const counters = await target.coverage?.();
    if (counters) all.push({ target: name, counters });
  }
  return writeCoverage(outDir, all);
}
