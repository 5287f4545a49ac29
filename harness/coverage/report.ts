// A coverage kernel's report in an output directory: lcov data (`coverage.info`, the format
// kernel developers read with genhtml, lcov and their editors), genhtml's HTML of it
// (`coverage/index.html`: every line of every instrumented source, hit or not), and the summary
// that summary.md and the terminal show, per file: lines, functions, branches. Beside them, what
// `mprog merge` needs to join the shards of a run made anywhere: the instrumented sources as they
// were built (`coverage.sources/`) and the report's own facts (`coverage.kernel.json`).

import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { KernelCounters } from '../../contract/coverage.js';
import { BadInput } from '../../contract/errors.js';
import type { Target } from '../../contract/target.js';
import { runTool } from '../../vm/runtime/run-tool.js';
import { type FileCoverage, readCounters } from './gcov.js';
import { type CoverageTotals, addCoverage, lcovText, parseLcov, totals } from './lcov.js';

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

/** Each line the patches changed, with its counts in `files` and its text in `sourcesDir`. */
function patchLinesOf(patchLines: Record<string, number[]>, sourcesDir: string, files: readonly FileCoverage[]): PatchLine[] {
  return Object.entries(patchLines).flatMap(([source, lines]) => {
    const text = readFileSync(join(sourcesDir, source), 'utf8').split('\n');
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

/** What a run's report of one coverage target rests on, besides its counts (`coverage.kernel.json`). */
interface CoverageFacts {
  format: 'mprog-kernel-coverage/1';
  target: string;
  /** The lcov file and the copy of the instrumented sources, inside the output directory. */
  info: string;
  sources: string;
  patchLines: Record<string, number[]>;
  lost: number;
}

const FACTS = '.kernel.json';

/** The names of a target's files: `coverage.*` for the one coverage target of a run; `coverage-<target>.*` for each when there are several. */
function namesFor(target: string, several: boolean): { base: string; info: string; html: string; sources: string; facts: string } {
  const base = several ? `coverage-${target.replace(/[^\w.-]+/g, '_')}` : 'coverage';
  return { base, info: `${base}.info`, html: base, sources: `${base}.sources`, facts: `${base}${FACTS}` };
}

/** Writes one target's lcov file, sources, facts and HTML into `outDir`; `sourcesFrom` holds its instrumented sources. */
async function writeTarget(
  outDir: string,
  facts: Pick<CoverageFacts, 'target' | 'patchLines' | 'lost'>,
  files: readonly FileCoverage[],
  sourcesFrom: string,
  several: boolean,
): Promise<CoverageReport> {
  const names = namesFor(facts.target, several);
  const sources = join(outDir, names.sources);
  if (resolve(sourcesFrom) !== resolve(sources)) {
    rmSync(sources, { recursive: true, force: true });
    for (const f of files) {
      mkdirSync(dirname(join(sources, f.source)), { recursive: true });
      cpSync(join(sourcesFrom, f.source), join(sources, f.source), { dereference: true });
    }
  }
  writeFileSync(join(outDir, names.info), lcovText(facts.target, files));
  const written: CoverageFacts = { format: 'mprog-kernel-coverage/1', ...facts, info: names.info, sources: names.sources };
  writeFileSync(join(outDir, names.facts), `${JSON.stringify(written, null, 2)}\n`);
  rmSync(join(outDir, names.html), { recursive: true, force: true });
  // genhtml reads each source where its SF: line says, relative to where it runs (the copy of the
  // sources); it makes them absolute (links resolved), and --prefix takes that directory off again
  // (kernel/bpf/mprog.c.gcov.html).
  await runTool(
    'genhtml',
    [
      '--quiet',
      '--branch-coverage',
      '--prefix',
      realpathSync(sources),
      '--title',
      facts.target,
      '--output-directory',
      resolve(outDir, names.html),
      resolve(outDir, names.info),
    ],
    {
      what: `writing the HTML coverage report (genhtml, from Debian's lcov: scripts/setup.sh installs it)`,
      cwd: sources,
    },
  );
  return {
    target: facts.target,
    info: names.info,
    html: join(names.html, 'index.html'),
    files: files.map(totals),
    patch: patchLinesOf(facts.patchLines, sources, files),
    lost: facts.lost,
  };
}

/** Reads each target's counters and writes its report into `outDir`. */
export async function writeCoverage(outDir: string, all: readonly { target: string; counters: KernelCounters }[]): Promise<CoverageReport[]> {
  const reports: CoverageReport[] = [];
  for (const { target, counters } of all) {
    const files = await readCounters(counters);
    reports.push(
      await writeTarget(outDir, { target, patchLines: counters.patchLines, lost: counters.lost }, files, counters.notesDir, all.length > 1),
    );
  }
  return reports;
}

/** One shard's facts file, read; a BadInput names it when it is not one. */
function readFacts(file: string): CoverageFacts {
  let facts: CoverageFacts;
  try {
    facts = JSON.parse(readFileSync(file, 'utf8')) as CoverageFacts;
  } catch (err) {
    throw new BadInput(`${file}: not a kernel coverage record of mprog (${(err as Error).message})`, { file, cause: err });
  }
  if (facts?.format !== 'mprog-kernel-coverage/1')
    throw new BadInput(`${file}: not a kernel coverage record of mprog (format: ${JSON.stringify(facts?.format)})`, { file });
  return facts;
}

/**
 * The kernel coverage of the runs in `dirs`, per target, summed (as `lcov -a` does) and written
 * into `outDir` with the sources the first of them kept: the shards of one run, made anywhere.
 */
export async function mergeCoverage(dirs: readonly string[], outDir: string): Promise<CoverageReport[]> {
  const byTarget = new Map<string, { facts: CoverageFacts; files: FileCoverage[]; sources: string }>();
  for (const dir of dirs) {
    for (const name of readdirSync(dir)
      .filter((n) => n.endsWith(FACTS))
      .sort()) {
      const facts = readFacts(join(dir, name));
      const info = join(dir, facts.info);
      if (!existsSync(info)) throw new BadInput(`${join(dir, name)}: its lcov file ${info} is missing`, { file: join(dir, name) });
      const files = parseLcov(readFileSync(info, 'utf8'), info);
      const had = byTarget.get(facts.target);
      if (!had) byTarget.set(facts.target, { facts: { ...facts }, files, sources: join(dir, facts.sources) });
      else {
        had.files = addCoverage(had.files, files);
        had.facts.lost += facts.lost;
      }
    }
  }
  const reports: CoverageReport[] = [];
  for (const { facts, files, sources } of byTarget.values()) reports.push(await writeTarget(outDir, facts, files, sources, byTarget.size > 1));
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
