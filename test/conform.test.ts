// `mprog conform` and `mprog merge`, for real: the running kernel (host target, needs root)
// against the emulator. Divergences come from a mutant profile (one rule changed) that only
// the in-process API accepts, and from a sequence whose `expect` is wrong.

import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { Parser as TapParser } from 'tap-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { findProfile, profileForRelease } from '../emulator/profiles.js';
import { hostArch } from '../vm/paths.js';
import { QemuTarget } from '../harness/targets/qemu.js';
import { mergeRuns } from '../harness/conform/merge.js';
import { type ResultRecord } from '../harness/conform/records.js';
import { BadInput } from '../harness/errors.js';
import { type ConformDone, type RunOptions, runConform } from '../harness/conform/run.js';
import { renderReport } from '../harness/conform/terminal.js';

const MUTANT = { ...findProfile('6.12')!, name: 'mutant-max2', mprogMax: 2 };
const TC_LINKS = 'test/sequences/tc_links';
const TC_LINKS_COUNT = readdirSync(TC_LINKS).filter((f) => f.endsWith('.json')).length;
const MAX_INGRESS = 'test/sequences/tc_opts/max-ingress.json';
const BASIC = 'test/sequences/tc_opts/basic.json';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'mprog-conform-'));

function options(over: Partial<RunOptions>): RunOptions {
  return { corpus: [TC_LINKS], kernels: [], arches: [], host: true, shard: null, profile: null, outDir: tmp(), jobs: null, resume: false, ...over };
}

async function conform(over: Partial<RunOptions>): Promise<ConformDone> {
  const done = await runConform(options(over));
  if (done instanceof BadInput) throw new Error(done.message);
  return done;
}

function jsonl(dir: string): ResultRecord[] {
  return readFileSync(join(dir, 'results.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((r) => r.type === 'result');
}

function recordOf(done: ConformDone, name: string): ResultRecord {
  return done.report.pairs.find((p) => p.record.name === name)!.record;
}

/** The CLI runs from dist/: a test of stale code would prove nothing. */
function assertBuilt(): void {
  for (const src of ['harness/conform/run.ts', 'harness/conform/cli.ts', 'harness/cli/main.ts']) {
    const out = join('dist', src.replace(/\.ts$/, '.js'));
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) throw new Error(`${out} is older than ${src}: run npm run build first`);
  }
}

describe('mprog conform (host kernel vs emulator)', () => {
  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error('these tests replay on the running kernel and need root');
  });

  it('agrees on a clean run and writes every file', async () => {
    const done = await conform({ corpus: ['test/sequences'] });
    const files = readdirSync('test/sequences', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));
    expect(done.report.status).toBe(0);
    expect(done.report.totals).toMatchObject({ sequences: files.length, divergentSteps: 0, expectFailures: 0, failed: 0, errors: 0 });
    expect(done.report.totals.steps).toBeGreaterThan(2000);
    for (const f of ['results.jsonl', 'junit.xml', 'results.tap', 'summary.md']) expect(existsSync(join(done.outDir, f))).toBe(true);
    expect(jsonl(done.outDir)).toHaveLength(files.length);
    expect(readFileSync(join(done.outDir, 'summary.md'), 'utf8')).toMatch(/all agree/);
  });

  describe('with a mutant emulator (mprogMax 2)', () => {
    let done: ConformDone;
    beforeAll(async () => {
      done = await conform({ corpus: [MAX_INGRESS, BASIC], profile: MUTANT });
    });

    it('finds the divergence at the third attach and exits 1', () => {
      expect(done.report.status).toBe(1);
      expect(recordOf(done, 'tc_opts/basic').outcome).toBe('pass');
      const max = recordOf(done, 'tc_opts/max-ingress');
      expect(max).toMatchObject({ outcome: 'fail', profile: 'mutant-max2' });
      const first = max.divergences[0]!;
      expect(first).toMatchObject({ step: 8, op: 'prog_attach' });
      expect(first.fields).toEqual([
        { path: 'ok', left: true, right: false },
        { path: 'errno', left: undefined, right: 'ERANGE' },
      ]);
      // The emulator's own expect fails there too; the kernel's do not.
      expect(max.expectFailures.every((f) => f.side === 'emulator')).toBe(true);
      expect(max.expectFailures[0]).toMatchObject({ step: 8, mismatches: ['ok: expected true, got false'] });
    });

    it('shows the step with both results side by side and the differing fields marked', () => {
      const text = renderReport(done.report, []);
      expect(text).toMatch(/FAIL tc_opts\/max-ingress on host x86_64 .*emulator profile mutant-max2/);
      expect(text).toMatch(/step 8 \(prog_attach\)\n\s+field\s+kernel\s+emulator\n\s+\* ok\s+true\s+false\n\s+\* errno\s+-\s+"ERANGE"/);
      expect(text).toMatch(/result: divergences found \(exit 1\)/);
      const md = readFileSync(join(done.outDir, 'summary.md'), 'utf8');
      expect(md).toContain('| ✗ | ok | <code>true</code> | <code>false</code> |');
    });

    it('writes JUnit XML that a standard parser reads, with properties and failures', () => {
      const text = readFileSync(join(done.outDir, 'junit.xml'), 'utf8');
      expect(XMLValidator.validate(text)).toBe(true);
      const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name) }).parse(text);
      const suite = xml.testsuites.testsuite[0];
      expect(suite).toMatchObject({ name: `host ${hostArch()}`, tests: '2', failures: '1', errors: '0' });
      const cases = suite.testcase as { name: string; failure?: { type: string }; properties: { property: { name: string; value: string }[] } }[];
      expect(cases.map((c) => c.name).sort()).toEqual(['tc_opts/basic', 'tc_opts/max-ingress']);
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

  it('reports a sequence whose expect is wrong, on both sides, with exit 1', async () => {
    const dir = tmp();
    const seq = JSON.parse(readFileSync(BASIC, 'utf8'));
    seq.name = 'wrong-expect';
    seq.steps[5].expect.query.revision = 7; // the kernel says 2
    writeFileSync(join(dir, 'wrong.json'), JSON.stringify(seq));
    const done = await conform({ corpus: [join(dir, 'wrong.json')] });
    expect(done.report.status).toBe(1);
    const r = recordOf(done, 'wrong-expect');
    expect(r).toMatchObject({ outcome: 'fail', divergences: [] });
    expect(r.expectFailures).toEqual([
      { side: 'kernel', step: 5, op: 'query', mismatches: ['query.revision: expected 7, got 2'] },
      { side: 'emulator', step: 5, op: 'query', mismatches: ['query.revision: expected 7, got 2'] },
    ]);
    expect(renderReport(done.report, [])).toContain('expect failed: step 5 (query), kernel: query.revision: expected 7, got 2');
  });

  it('refuses to resume a run of a different plan', async () => {
    const first = await conform({ corpus: [BASIC], shard: { index: 1, count: 1 } });
    const again = await runConform(options({ corpus: [BASIC], outDir: first.outDir, resume: true }));
    expect(again).toBeInstanceOf(BadInput);
    expect((again as BadInput).message).toMatch(/holds a run with different --shard; run without --resume/);
    // The same plan resumes, and has nothing left to do.
    const same = await conform({ corpus: [BASIC], shard: { index: 1, count: 1 }, outDir: first.outDir, resume: true });
    expect(same.report.status).toBe(0);
    expect(jsonl(first.outDir)).toHaveLength(1);
  });

  it('gives the same totals from two shards merged as from one run', async () => {
    const whole = await conform({ profile: MUTANT });
    const one = await conform({ profile: MUTANT, shard: { index: 1, count: 2 } });
    const two = await conform({ profile: MUTANT, shard: { index: 2, count: 2 } });
    expect(one.report.totals.sequences + two.report.totals.sequences).toBe(TC_LINKS_COUNT);
    const merged = mergeRuns([one.outDir, two.outDir], tmp());
    if (merged instanceof BadInput) throw new Error(merged.message);
    expect(whole.report.totals.divergentSteps).toBeGreaterThan(0);
    expect(merged.report.totals).toEqual(whole.report.totals);
    expect(merged.report.status).toBe(whole.report.status);
    expect(jsonl(merged.outDir)).toHaveLength(TC_LINKS_COUNT);

    // A shard left out is said, and the merge is not a pass.
    const partial = mergeRuns([one.outDir], tmp());
    if (partial instanceof BadInput) throw new Error(partial.message);
    expect(partial.report.notes).toEqual(['shards 2/2 missing: their sequences are not in this report']);
    expect(partial.report.status).toBe(2);
  });
});

describe('mprog conform on kernels in QEMU', () => {
  const MINUTE = 60_000;

  it('runs the host and a debian-6.12 VM at once, one suite per target', { timeout: 10 * MINUTE }, async () => {
    const done = await conform({ corpus: [BASIC, MAX_INGRESS], kernels: ['debian-6.12'], jobs: 2 });
    expect(done.report.status).toBe(0);
    expect(done.report.targets.map((t) => [t.target.spec, t.profiles])).toEqual([
      ['host', [profileForRelease(release())!.name]],
      ['qemu:debian-6.12:x86_64', ['6.12.110']], // Debian's 6.12 is past the cgroup mprog backport
    ]);
    expect(done.report.targets[1]!.releases[0]).toMatch(/^6\.12\./);
    expect(done.report.totals).toMatchObject({ sequences: 4, failed: 0, errors: 0 });
  });

  it('exits 2 when no target could run the corpus (debian-6.1 has no tcx), not "all agree"', { timeout: 10 * MINUTE }, async () => {
    const done = await conform({ corpus: [BASIC], host: false, kernels: ['debian-6.1'] });
    expect(done.report.totals).toMatchObject({ sequences: 1, unsupported: 1 });
    expect(done.report.status).toBe(2);
    expect(renderReport(done.report, [])).toMatch(/note: no target could run the corpus/);
  });

  it('exits 3 when the kernel panics, with the console log in the output directory', { timeout: 10 * MINUTE }, async () => {
    // No /init in the initramfs: the real kernel finds no root fs and panics while booting.
    const openTarget = async (spec: string) => new QemuTarget(spec, { extraCmdline: 'rdinit=/nonexistent', bootDeadlineMs: 2 * MINUTE });
    const done = await conform({ corpus: [BASIC], host: false, kernels: ['debian-6.12'], openTarget });
    expect(done.report.status).toBe(3);
    const r = recordOf(done, 'tc_opts/basic');
    expect(r).toMatchObject({ outcome: 'crash', fault: { kind: 'panic' } });
    expect(readFileSync(join(done.outDir, r.fault!.console!), 'utf8')).toMatch(/Kernel panic - not syncing/);
    const junit = readFileSync(join(done.outDir, 'junit.xml'), 'utf8');
    expect(XMLValidator.validate(junit)).toBe(true);
    expect(junit).toMatch(/<error type="panic"/);
    expect(renderReport(done.report, [])).toMatch(/result: a kernel crashed or hung \(exit 3\)/);
  });
});

describe('mprog conform / merge commands', () => {
  beforeAll(assertBuilt);
  /** The built CLI, as a user runs it. */
  const mprog = (...args: string[]) => execa('node', ['bin/mprog.js', ...args], { reject: false });

  /** A host run of tc_links into a fresh DIR, once results.jsonl has `lines` lines (the plan, then pairs). */
  async function runUntil(lines: number) {
    const out = tmp();
    const args = ['conform', '--host', '--out', out, TC_LINKS];
    const run = mprog(...args);
    const file = join(out, 'results.jsonl');
    const count = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0);
    while (count() < lines) await sleep(20);
    return { out, args, run, file };
  }

  it('resumes a killed run without redoing finished sequences', async () => {
    const { args, run: first, file, out } = await runUntil(2);
    first.kill('SIGKILL');
    await first;
    const before = readFileSync(file, 'utf8');
    const finished = before.split('\n').length - 2;
    expect(finished).toBeGreaterThan(0);
    expect(finished).toBeLessThan(TC_LINKS_COUNT);

    const resumed = await mprog(...args, '--resume');
    expect(resumed.exitCode).toBe(0);
    expect(resumed.stderr).toContain(`${finished} already done, skipped`);
    const after = readFileSync(file, 'utf8');
    expect(after.startsWith(before.slice(0, before.lastIndexOf('\n') + 1))).toBe(true);
    const keys = jsonl(out).map((r) => r.sequence);
    expect(keys).toHaveLength(TC_LINKS_COUNT);
    expect(new Set(keys).size).toBe(TC_LINKS_COUNT);
    expect(existsSync(join(out, 'junit.xml'))).toBe(true);
  });

  it('merges shard directories from the command line', async () => {
    const [a, b, m] = [tmp(), tmp(), tmp()];
    for (const [shard, out] of [['1/2', a], ['2/2', b]] as const) {
      const r = await mprog('conform', '--host', '--shard', shard, '--out', out, TC_LINKS);
      expect(r.exitCode).toBe(0);
    }
    const merged = await mprog('merge', a, b, '--out', m);
    expect(merged.exitCode).toBe(0);
    expect(merged.stdout).toMatch(new RegExp(`^total\\s+${TC_LINKS_COUNT}\\s`, 'm'));
    expect(XMLValidator.validate(readFileSync(join(m, 'junit.xml'), 'utf8'))).toBe(true);
  });

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

  it('exits 2 naming a corpus subdirectory it cannot read', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'locked'));
    writeFileSync(join(dir, 'a.json'), readFileSync(BASIC));
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'locked'), 0);
    // As nobody: root reads any directory.
    const r = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', 'bin/mprog.js', 'conform', '--host', '--out', join(dir, 'out'), dir], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`mprog: corpus ${dir}: cannot read ${join(dir, 'locked')} (EACCES)`);
  });

  it('lets one run at a time write to an output directory', async () => {
    const { out, run: first } = await runUntil(1);
    const second = await mprog('conform', '--host', '--out', out, BASIC);
    expect(second.exitCode).toBe(2);
    expect(second.stderr).toBe(`mprog: --out ${out}: another mprog conform or merge (pid ${first.pid}) is writing there; wait for it to end, or use another --out`);
    const merging = await mprog('merge', out, '--out', out);
    expect(merging.exitCode).toBe(2);
    expect(merging.stderr).toBe(second.stderr);
    expect((await first).exitCode).toBe(0);
    // The first run's records alone, and its lock gone with it.
    expect(jsonl(out)).toHaveLength(TC_LINKS_COUNT);
    expect(existsSync(join(out, '.lock'))).toBe(false);
  });

  it('stops cleanly on Ctrl-C: the reports of what finished, and how to resume', async () => {
    const { out, args, run: first } = await runUntil(3);
    first.kill('SIGINT');
    const r = await first;
    expect(r.exitCode).toBe(130);
    const finished = jsonl(out).length;
    expect(r.stderr).toContain(`mprog conform: stopped by SIGINT: ${finished} of ${TC_LINKS_COUNT} pairs finished; their reports are in ${out}\n`);
    expect(r.stderr).toContain(`continue with: mprog conform --host --out ${out} ${TC_LINKS} --resume`);
    const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
    expect(XMLValidator.validate(junit)).toBe(true);
    expect(junit.match(/<testcase /g)).toHaveLength(TC_LINKS_COUNT);
    const resumed = await mprog(...args, '--resume');
    expect(resumed.exitCode).toBe(0);
    expect(resumed.stderr).toContain(`${finished} already done, skipped`);
  });

  it('exits 2 naming the file and field of a bad sequence', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ format: 'mprog-seq/1', name: 'bad', steps: [{ op: 'nope' }] }));
    const r = await mprog('conform', '--host', '--out', tmp(), dir);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('bad.json: $.steps[0].op');
  });
});
