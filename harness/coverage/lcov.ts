// lcov's tracefile format (geninfo(1), "TRACEFILE FORMAT"), written from and read back into
// per-file coverage, and coverage summed as `lcov -a` sums tracefiles: what a run writes as
// coverage.info and what `mprog merge` joins the shards' files with.

import { BadInput } from '../../contract/errors.js';
import type { FileCoverage } from './gcov.js';

export interface CoverageTotals {
  source: string;
  lines: [hit: number, all: number];
  functions: [hit: number, all: number];
  branches: [hit: number, all: number];
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

/** A file's lines, functions and branches: how many there are and how many ran (lcov's LF/LH, FNF/FNH, BRF/BRH). */
export function totals(f: FileCoverage): CoverageTotals {
  return {
    source: f.source,
    lines: hits(f.lines.values()),
    functions: hits([...f.functions.values()].map((fn) => fn.count)),
    branches: hits([...f.branches.values()].flat()),
  };
}

/** The tracefile of `files` under test name `test`, source names relative to the tree. */
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

/** The records of a tracefile (`file` names it in an error), as lcovText writes them; the summary lines are recomputed, not read. */
export function parseLcov(text: string, file: string): FileCoverage[] {
  const files: FileCoverage[] = [];
  let f: FileCoverage | undefined;
  const fnLines = new Map<string, number>();
  for (const [i, line] of text.split('\n').entries()) {
    const colon = line.indexOf(':');
    const [key, value] = colon < 0 ? [line, ''] : [line.slice(0, colon), line.slice(colon + 1)];
    const bad = (): never => {
      throw new BadInput(`${file}:${i + 1}: not an lcov record: ${JSON.stringify(line.slice(0, 80))}`, { file });
    };
    const ints = (n: number): number[] => {
      const parts = value.split(',');
      if (parts.length < n || parts.slice(0, n).some((p) => !/^\d+$/.test(p))) bad();
      return parts.slice(0, n).map(Number);
    };
    if (key === 'SF') {
      f = { source: value, lines: new Map(), functions: new Map(), branches: new Map() };
      fnLines.clear();
      files.push(f);
      continue;
    }
    if (key === '' || key === 'TN' || key === 'end_of_record' || /^(FNF|FNH|BRF|BRH|LF|LH)$/.test(key)) continue;
    if (!f) bad();
    const into = f!;
    if (key === 'FN') {
      const [at] = ints(1);
      fnLines.set(value.slice(value.indexOf(',') + 1), at!);
    } else if (key === 'FNDA') {
      const [count] = ints(1);
      const name = value.slice(value.indexOf(',') + 1);
      into.functions.set(name, { line: fnLines.get(name) ?? 0, count: count! });
    } else if (key === 'BRDA') {
      const parts = value.split(',');
      const [at] = ints(3);
      if (parts.length !== 4 || !/^(\d+|-)$/.test(parts[3]!)) bad();
      const counts = into.branches.get(at!) ?? [];
      counts.push(parts[3] === '-' ? null : Number(parts[3]));
      into.branches.set(at!, counts);
    } else if (key === 'DA') {
      const [at, count] = ints(2);
      into.lines.set(at!, count!);
    } else bad();
  }
  return files;
}

/** Two counts summed; null (never ran, `-`) only when both are. */
const plus = (a: number | null | undefined, b: number | null | undefined): number | null =>
  (a ?? null) === null && (b ?? null) === null ? null : (a ?? 0) + (b ?? 0);

/** `a` and `b` summed, file by file, line by line, branch by branch (a file of one alone as it is). */
export function addCoverage(a: readonly FileCoverage[], b: readonly FileCoverage[]): FileCoverage[] {
  const out = a.map((f) => ({ ...f, lines: new Map(f.lines), functions: new Map(f.functions), branches: new Map(f.branches) }));
  for (const g of b) {
    const f = out.find((x) => x.source === g.source);
    if (!f) {
      out.push(g);
      continue;
    }
    for (const [line, count] of g.lines) f.lines.set(line, (f.lines.get(line) ?? 0) + count);
    for (const [name, fn] of g.functions) f.functions.set(name, { line: fn.line, count: (f.functions.get(name)?.count ?? 0) + fn.count });
    for (const [line, counts] of g.branches) {
      const had = f.branches.get(line) ?? [];
      f.branches.set(
        line,
        counts.map((c, i) => plus(had[i], c)),
      );
    }
  }
  return out;
}
