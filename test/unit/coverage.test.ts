// Kernel coverage (issue 22) without a kernel: a program built by the host's gcc with gcov's
// instrumentation (as the kernel's attach code is in a coverage build, with the same notes and
// counters), its .gcda read as a coverage kernel's dump is (harness/coverage/gcov.ts), written as
// lcov data that the real genhtml accepts (harness/coverage/report.ts); the lines a patch changed
// (vm/kernel-build/coverage.ts, with diff(1)) and what a run did with each.

import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelCounters } from '../../contract/coverage.js';
import { readCounters } from '../../harness/coverage/gcov.js';
import { parseLcov } from '../../harness/coverage/lcov.js';
import { coverageLines, coverageMarkdown, mergeCoverage, writeCoverage } from '../../harness/coverage/report.js';
import { patchedLines, sourcesBefore } from '../../vm/kernel-build/coverage.js';

const SOURCE = 'kernel/bpf/toy.c';
const PROGRAM = `int attach(int n)
{
	if (n > 1)
		return 2;
	return 1;
}

int detach(int n)
{
	return n - 1;
}

int main(int argc, char **argv)
{
	(void)argv;
	return attach(argc) - 1;
}
`;
/** The lines of PROGRAM (1-based) that one run without arguments reaches, and those it does not. */
const RETURN_2 = 4;
const RETURN_1 = 5;
const DETACH_BODY = 10;
const BLANK = 7;

let dir: string;
let obj: string;
let counters: KernelCounters;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mprog-coverage-'));
  // Laid out as a kernel build is: the source in the tree, the objects in .mprog-obj inside it, compiled from there.
  const tree = join(dir, 'tree');
  obj = join(tree, '.mprog-obj');
  mkdirSync(join(tree, 'kernel', 'bpf'), { recursive: true });
  mkdirSync(join(obj, 'kernel', 'bpf'), { recursive: true });
  writeFileSync(join(tree, SOURCE), PROGRAM);
  execFileSync('gcc', ['--coverage', '-O0', '-c', '-o', 'kernel/bpf/toy.o', `../${SOURCE}`], { cwd: obj });
  execFileSync('gcc', ['--coverage', '-o', 'kernel/bpf/toy', 'kernel/bpf/toy.o'], { cwd: obj });
  execFileSync(join(obj, 'kernel', 'bpf', 'toy'), { cwd: obj });
  // The notes as the build keeps them, the counters as the agent sends them (their path below debugfs's gcov: the object tree's).
  const notes = join(dir, 'notes');
  mkdirSync(join(notes, 'kernel', 'bpf'), { recursive: true });
  writeFileSync(join(notes, SOURCE), PROGRAM);
  writeFileSync(join(notes, 'kernel/bpf/toy.gcno'), readFileSync(join(obj, 'kernel/bpf/toy.gcno')));
  const data = readFileSync(join(obj, 'kernel/bpf/toy.gcda'));
  const gcda = { path: `${obj.slice(1)}/kernel/bpf/toy.gcda`, size: data.length, data };
  counters = { notesDir: notes, sources: [SOURCE], arch: 'x86_64', patchLines: {}, dumps: [[gcda]], lost: 0 };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('reading a dump', () => {
  it('gives each line its count, each function and each branch', async () => {
    const [toy] = await readCounters(counters);
    expect(toy!.source).toBe(SOURCE);
    expect(toy!.lines.get(RETURN_1)).toBe(1);
    expect(toy!.lines.get(RETURN_2)).toBe(0);
    expect(toy!.lines.get(DETACH_BODY)).toBe(0);
    expect(toy!.functions.get('attach')).toEqual({ line: 1, count: 1 });
    expect(toy!.functions.get('detach')?.count).toBe(0);
    // `if (n > 1)`: one side taken, one not.
    expect(toy!.branches.get(3)?.sort()).toEqual([0, 1]);
  });

  it('sums the counts of several guests', async () => {
    const [toy] = await readCounters({ ...counters, dumps: [counters.dumps[0]!, counters.dumps[0]!] });
    expect(toy!.lines.get(RETURN_1)).toBe(2);
    expect(toy!.functions.get('main')?.count).toBe(2);
  });
});

describe('the report', () => {
  it('writes lcov data genhtml accepts, naming the file, and the summary per file', async () => {
    const out = join(dir, 'out');
    mkdirSync(out);
    const [report] = await writeCoverage(out, [{ target: 'qemu:toy:x86_64', counters }]);
    const info = readFileSync(join(out, 'coverage.info'), 'utf8');
    expect(info).toContain(`SF:${SOURCE}\n`);
    expect(info).toContain(`DA:${RETURN_1},1\n`);
    expect(info).toContain(`DA:${RETURN_2},0\n`);
    expect(info).toContain('FNDA:0,detach\n');
    expect(existsSync(join(out, 'coverage', 'index.html'))).toBe(true);
    // genhtml's page of the source marks each line hit or not.
    const page = readFileSync(join(out, 'coverage', 'kernel', 'bpf', 'toy.c.gcov.html'), 'utf8');
    expect(page).toMatch(/lineCov">\s+1 :\s+return 1;/);
    expect(page).toMatch(/lineNoCov">\s+0 :\s+return 2;/);
    const [, line] = coverageLines(report!);
    expect(line).toMatch(/kernel\/bpf\/toy\.c: lines \d+\/\d+ \(\d+\.\d%\), functions 2\/3 \(66\.7%\), branches 1\/2 \(50\.0%\)/);
    expect(coverageMarkdown([report!])).toContain('| `kernel/bpf/toy.c` |');
  });
});

describe("a patch's lines", () => {
  it('are the lines the patches added or changed, numbered in the patched file', async () => {
    const tree = join(dir, 'patched');
    mkdirSync(join(tree, 'kernel', 'bpf'), { recursive: true });
    writeFileSync(join(tree, SOURCE), PROGRAM);
    const before = sourcesBefore(tree, [SOURCE]);
    // As two patches would leave it: a line changed in attach, two added before detach's return.
    const lines = PROGRAM.split('\n');
    lines.splice(RETURN_2 - 1, 1, '\t\treturn 3;');
    lines.splice(DETACH_BODY - 1, 0, '\tif (n < 0)', '\t\treturn 0;');
    writeFileSync(join(tree, SOURCE), lines.join('\n'));
    expect(await patchedLines('test', tree, before)).toEqual({ [SOURCE]: [RETURN_2, DETACH_BODY, DETACH_BODY + 1] });
    writeFileSync(join(tree, SOURCE), PROGRAM);
    expect(await patchedLines('test', tree, before)).toEqual({});
  });

  it('are each reported as reached, not reached, or without code of their own', async () => {
    const out = join(dir, 'out-patch');
    mkdirSync(out);
    const [report] = await writeCoverage(out, [
      { target: 'qemu:toy:x86_64', counters: { ...counters, patchLines: { [SOURCE]: [3, RETURN_1, RETURN_2, BLANK] } } },
    ]);
    expect(report!.patch).toEqual([
      { source: SOURCE, line: 3, text: 'if (n > 1)', count: 1, branches: [0, 1] },
      { source: SOURCE, line: RETURN_1, text: 'return 1;', count: 1, branches: [] },
      { source: SOURCE, line: RETURN_2, text: 'return 2;', count: 0, branches: [] },
      { source: SOURCE, line: BLANK, text: '', count: null, branches: [] },
    ]);
    const text = coverageLines(report!).join('\n');
    expect(text).toContain(
      `4 added or changed in these files, 3 with code, 2 reached, 1 with a branch never taken\n` +
        `    NOT reached: ${SOURCE}:${RETURN_2}  return 2;\n    branch never taken (1/2 taken): ${SOURCE}:3  if (n > 1)`,
    );
    const md = coverageMarkdown([report!]);
    expect(md).toContain(`| \`${SOURCE}:${RETURN_2}\` | **not reached** |  | \`return 2;\` |`);
    expect(md).toContain(`| \`${SOURCE}:3\` | 1 | **1/2** | \`if (n > 1)\` |`);
  });
});

describe('shards merged', () => {
  it('sum as lcov -a does, with the sources and facts the shards kept (not the cache they were made from)', async () => {
    // A second guest's counters: the toy run with two arguments, which takes the other side of `if (n > 1)`.
    rmSync(join(obj, 'kernel/bpf/toy.gcda'));
    spawnSync(join(obj, 'kernel', 'bpf', 'toy'), ['a', 'b'], { cwd: obj });
    const data = readFileSync(join(obj, 'kernel/bpf/toy.gcda'));
    const other = { path: `${obj.slice(1)}/kernel/bpf/toy.gcda`, size: data.length, data };
    // Each shard made from a cache of its own, gone by the time they are merged (another machine's).
    const shard = async (name: string, dumps: KernelCounters['dumps']) => {
      const notes = join(dir, `notes-${name}`);
      cpSync(counters.notesDir, notes, { recursive: true });
      const out = join(dir, `shard-${name}`);
      mkdirSync(out);
      await writeCoverage(out, [{ target: 'qemu:toy:x86_64', counters: { ...counters, notesDir: notes, dumps, lost: 1 } }]);
      rmSync(notes, { recursive: true });
      return out;
    };
    const [a, b] = [await shard('a', counters.dumps), await shard('b', [[other]])];
    const out = join(dir, 'merged');
    mkdirSync(out);
    const [merged, ...more] = await mergeCoverage([a, b], out);
    expect(more).toEqual([]);
    expect(merged!.lost).toBe(2);
    const [toy] = parseLcov(readFileSync(join(out, 'coverage.info'), 'utf8'), 'coverage.info');
    expect(toy!.lines.get(RETURN_1)).toBe(1);
    expect(toy!.lines.get(RETURN_2)).toBe(1);
    expect(toy!.lines.get(DETACH_BODY)).toBe(0);
    expect(toy!.branches.get(3)?.sort()).toEqual([1, 1]);
    // What lcov itself makes of the two tracefiles.
    const reference = join(dir, 'reference.info');
    execFileSync('lcov', [
      '--quiet',
      '--rc',
      'lcov_branch_coverage=1',
      '-a',
      join(a, 'coverage.info'),
      '-a',
      join(b, 'coverage.info'),
      '-o',
      reference,
    ]);
    const [want] = parseLcov(readFileSync(reference, 'utf8'), reference);
    expect(toy!.lines).toEqual(want!.lines);
    expect(toy!.functions).toEqual(want!.functions);
    expect(toy!.branches).toEqual(want!.branches);
    expect(readFileSync(join(out, 'coverage', 'kernel', 'bpf', 'toy.c.gcov.html'), 'utf8')).toMatch(/lineCov">\s+1 :\s+return 2;/);
    expect(coverageLines(merged!)[1]).toMatch(/branches 2\/2 \(100\.0%\)/);
  });

  it('refuses a facts file that is not one, naming it', async () => {
    const bad = join(dir, 'bad-shard');
    mkdirSync(bad);
    writeFileSync(join(bad, 'coverage.kernel.json'), '{"format": "something-else"}');
    await expect(mergeCoverage([bad], join(dir, 'bad-out'))).rejects.toThrow(
      /bad-shard\/coverage\.kernel\.json: not a kernel coverage record of mprog/,
    );
  });
});
