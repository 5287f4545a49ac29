// `mprog conform` where it needs no root: its reports of a run with a divergence, the running
// kernel stood in for by the emulator (the real runs on the host: test/host/conform-command.test.ts),
// and the built CLI's answers to bad input, which it gives before replaying anything.

import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { Parser as TapParser } from 'tap-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../../contract/target.js';
import { findProfile } from '../../emulator/profiles.js';
import { type ConformDone, runConform } from '../../harness/conform/run.js';
import { mergeRuns } from '../../harness/results/merge.js';
import { BadInput } from '../../contract/errors.js';
import { junitXml } from '../../harness/results/writers/junit.js';
import { renderReport } from '../../harness/results/writers/terminal.js';
import { EmulatorTarget } from '../../harness/targets/emulator.js';
import { hostArch } from '../../vm/runtime/paths.js';

const MUTANT = { ...findProfile('6.12')!, name: 'mutant-max2', mprogMax: 2 };
const MAX_INGRESS = 'test/sequences/tc_opts/max-ingress.json';
const BASIC = 'test/sequences/tc_opts/basic.json';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'mprog-conform-'));

/**
 * The host target as conform sees it (spec `host`, this machine's release and arch), answered by
 * the emulator's own 6.12 profile: what the running kernel answers on these sequences, so that
 * a run against the mutant finds the divergence the host run finds.
 */
function standInHost(): Target {
  const emulator = new EmulatorTarget('6.12');
  return { spec: 'host', kernel: async () => release(), run: (seq, opts) => emulator.run(seq, opts), close: async () => {} };
}

/** The CLI runs from dist/: a test of stale code would prove nothing. */
function assertBuilt(): void {
  for (const src of ['harness/conform/run.ts', 'harness/cli/conform.ts', 'harness/cli/main.ts']) {
    const out = join('dist', src.replace(/\.ts$/, '.js'));
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) throw new Error(`${out} is older than ${src}: run npm run build first`);
  }
}

describe('the reports of a run with a mutant emulator (mprogMax 2), the host stood in for', () => {
  let done: ConformDone;
  beforeAll(async () => {
    const run = await runConform({
      corpus: [MAX_INGRESS, BASIC],
      kernels: [],
      arches: [],
      host: true,
      shard: null,
      profile: MUTANT,
      outDir: tmp(),
      jobs: null,
      resume: false,
      openTarget: async () => standInHost(),
    });
    done = run;
  });

  it('shows the step with both results side by side and the differing fields marked', () => {
    const text = renderReport(done.report, []);
    expect(text).toMatch(/FAIL tc_opts\/max-ingress on host x86_64 .*emulator profile mutant-max2/);
    // The first divergent step with its call written out, the later ones counted.
    expect(text).toMatch(
      /step 8: prog_attach prog=\w+ dev=\w+ tcx_ingress.*\n\s+field\s+kernel\s+emulator\n\s+\* ok\s+true\s+false\n\s+\* errno\s+-\s+"ERANGE"/,
    );
    const max = done.report.pairs.find((p) => p.record.name === 'tc_opts/max-ingress')!.record;
    const later = max.divergences.length - 1;
    expect(later).toBeGreaterThan(0);
    expect(text).toContain(`${later} more divergent step${later === 1 ? '' : 's'} (`);
    expect(renderReport(done.report, [], { verbose: true }).match(/^ {2}step \d+: /gm)?.length).toBe(later + 1);
    expect(text).toMatch(/result: divergences found \(exit 1\)/);
    const md = readFileSync(join(done.outDir, 'summary.md'), 'utf8');
    expect(md).toContain('| ✗ | ok | <code>true</code> | <code>false</code> |');
  });

  it('refuses to merge runs that are not parts of one run, saying what each replayed where', async () => {
    const run = (corpus: string, kernels: string[], shard: { index: number; count: number } | null = null) =>
      runConform({
        corpus: [corpus],
        kernels,
        arches: ['x86_64'],
        host: kernels.length === 0,
        shard,
        profile: findProfile('6.12')!,
        outDir: tmp(),
        jobs: null,
        resume: false,
        openTarget: async (spec) => ({ ...standInHost(), spec }),
      });
    const [a, b] = [await run(BASIC, []), await run(MAX_INGRESS, ['debian-6.12'])];
    const err = await mergeRuns([a.outDir, b.outDir], tmp()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadInput);
    expect((err as BadInput).message).toMatch(
      /^these are not the shards of one run: .*: 1 sequences on host; .*: 1 sequences on qemu:debian-6\.12:x86_64 \(.* was replayed on .* by none of them\)/,
    );
    // The nightly's jobs: one split (here of 1) run on each kernel, merged into one report.
    const parts = [await run(BASIC, [], { index: 1, count: 1 }), await run(BASIC, ['debian-6.12'], { index: 1, count: 1 })];
    const merged = await mergeRuns(
      parts.map((p) => p.outDir),
      tmp(),
    );
    expect(merged.report.status).toBe(0);
    expect(merged.report.totals.sequences).toBe(2);
  });

  it('says "expects failed, no divergence" when only an expect failed', async () => {
    const dir = tmp();
    const file = join(dir, 'wrong-expect.json');
    const steps = [
      { op: 'prog_attach', prog: 'a', dev: 'v0', attach_type: 'tcx_ingress' },
      { op: 'query', dev: 'v0', attach_type: 'tcx_ingress', expect: { query: { revision: 9 } } },
    ];
    writeFileSync(file, JSON.stringify({ format: 'mprog-seq/1', name: 'wrong-expect', devices: ['v0'], programs: ['a'], steps }));
    const run = await runConform({
      corpus: [file],
      kernels: [],
      arches: [],
      host: true,
      shard: null,
      profile: findProfile('6.12')!,
      outDir: tmp(),
      jobs: null,
      resume: false,
      openTarget: async () => standInHost(),
    });
    expect(run.report.status).toBe(1);
    // One expect, missed the same way by the kernel and the emulator: said and counted once.
    expect(renderReport(run.report, [])).toMatch(
      /expect failed: step 1 \(query\), kernel and emulator: query.revision: expected 9, got 2\n(.*\n)*result: 1 expect failed, no divergence \(exit 1\)/,
    );
  });

  it('writes JUnit XML that a standard parser reads, with properties and failures', () => {
    const text = readFileSync(join(done.outDir, 'junit.xml'), 'utf8');
    expect(XMLValidator.validate(text)).toBe(true);
    const xml = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '',
      isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
    }).parse(text);
    const suite = xml.testsuites.testsuite[0];
    expect(suite).toMatchObject({ name: `host ${hostArch()}`, tests: '2', failures: '1', errors: '0' });
    const cases = suite.testcase as {
      name: string;
      classname: string;
      failure?: { type: string };
      properties: { property: { name: string; value: string }[] };
    }[];
    expect(cases.map((c) => c.name).sort()).toEqual(['tc_opts/basic', 'tc_opts/max-ingress']);
    // No dot in a classname: Jenkins-style viewers would split it into package and class.
    const debian = { ...done.report.targets[0]!.target, kernel: 'debian-6.12' };
    const renamed = junitXml({ ...done.report, targets: done.report.targets.map((t) => ({ ...t, target: debian })) });
    expect(renamed).toMatch(/<testcase name="[^"]+" classname="debian-6_12 [^"]+"/);
    expect(renamed).not.toMatch(/classname="[^"]*\./);
    const max = cases.find((c) => c.name === 'tc_opts/max-ingress')!;
    expect(max.failure?.type).toBe('divergence');
    const props = Object.fromEntries(max.properties.property.map((p) => [p.name, p.value]));
    expect(props).toMatchObject({ arch: hostArch(), profile: 'mutant-max2' });
    expect(props['kernel.release']).toMatch(/^\d+\.\d+/);
  });

  it('writes TAP that a standard parser reads', async () => {
    const failures: { name: string; diag: { divergences: { step: number }[] } }[] = [];
    const parser = new TapParser();
    parser.on('fail', (r) => failures.push(r));
    const final = new Promise<{ ok: boolean; count: number; pass: number; fail: number }>((resolve) => parser.on('complete', resolve));
    parser.end(readFileSync(join(done.outDir, 'results.tap'), 'utf8'));
    expect(await final).toMatchObject({ ok: false, count: 2, pass: 1, fail: 1 });
    expect(failures[0]!.name).toBe('tc_opts/max-ingress on host x86_64');
    expect(failures[0]!.diag.divergences[0]!.step).toBe(8);
  });
});

describe('mprog conform / merge commands on bad input', () => {
  beforeAll(assertBuilt);
  /** The built CLI, as a user runs it. */
  const mprog = (...args: string[]) => execa('node', ['bin/mprog.js', ...args], { reject: false });

  it.each([
    ['an unknown arch', ['--arch', 'mips']],
    ['a kernel that is neither a series nor a file', ['--kernel', 'no-such-kernel']],
    ['a bad shard', ['--shard', '3/2']],
    ['an unknown profile', ['--profile', '5.4']],
    ['a missing corpus', ['/nonexistent/corpus']],
    ['an empty --kernel', ['--kernel', '']],
    ['an empty --arch', ['--arch', 'x86_64,']],
  ])('exits 2 on %s, with a message and no stack trace', async (_what, extra) => {
    const r = await mprog('conform', '--host', '--out', tmp(), ...extra);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^mprog( conform)?: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 at once on an output directory that cannot be made (under /proc)', async () => {
    const r = await mprog('conform', '--host', '--out', '/proc/mprog-out', BASIC);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe('mprog: --out /proc/mprog-out: cannot write there (ENOENT)');
  });

  it('exits 2 naming the file and field of a bad sequence', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ format: 'mprog-seq/1', name: 'bad', steps: [{ op: 'nope' }] }));
    const r = await mprog('conform', '--host', '--out', tmp(), dir);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('bad.json: $.steps[0].op');
  });
});
