// `mprog conform` and `mprog merge`, for real: the running kernel (host target, needs root)
// against the emulator. Divergences come from a mutant profile (one rule changed) that only
// the in-process API accepts, and from a sequence whose `expect` is wrong.

import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { XMLValidator } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { findProfile } from '../../emulator/profiles.js';
import { mergeRuns } from '../../harness/results/merge.js';
import type { ResultRecord } from '../../harness/results/records.js';
import { BadInput } from '../../contract/errors.js';
import { type ConformDone, runConform } from '../../harness/conform/run.js';
import { BASIC, MAX_INGRESS, TC_LINKS, conform, conformOptions as options, tmpOut as tmp } from '../conform-corpus.js';
import { renderReport } from '../../harness/results/writers/terminal.js';
import { besidesProgress } from '../stderr.js';

const MUTANT = { ...findProfile('6.12')!, name: 'mutant-max2', mprogMax: 2 };
const TC_LINKS_COUNT = readdirSync(TC_LINKS).filter((f) => f.endsWith('.json')).length;

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
  for (const src of ['harness/conform/run.ts', 'harness/cli/conform.ts', 'harness/cli/main.ts']) {
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
    // Once, naming both sides, and counted once; with the commands that show it again.
    const text = renderReport(done.report, []);
    expect(text).toContain('expect failed: step 5 (query), kernel and emulator: query.revision: expected 7, got 2');
    expect(text).not.toMatch(/expect failed: .*\n.*expect failed/);
    expect(text).toMatch(/result: 1 expect failed, no divergence \(exit 1\)/);
    expect(text).toContain(`again: npx mprog replay --target host ${join(dir, 'wrong.json')}`);
  });

  it('refuses to resume a run of a different plan', async () => {
    const first = await conform({ corpus: [BASIC], shard: { index: 1, count: 1 } });
    const again = await runConform(options({ corpus: [BASIC], outDir: first.outDir, resume: true })).catch((e: unknown) => e);
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
    const merged = await mergeRuns([one.outDir, two.outDir], tmp());
    expect(whole.report.totals.divergentSteps).toBeGreaterThan(0);
    expect(merged.report.totals).toEqual(whole.report.totals);
    expect(merged.report.status).toBe(whole.report.status);
    expect(jsonl(merged.outDir)).toHaveLength(TC_LINKS_COUNT);

    // A shard left out is said, and the merge is not a pass.
    const partial = await mergeRuns([one.outDir], tmp());
    expect(partial.report.notes).toEqual(['shards 2/2 missing: their sequences are not in this report']);
    expect(partial.report.status).toBe(2);
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
    for (const [shard, out] of [
      ['1/2', a],
      ['2/2', b],
    ] as const) {
      const r = await mprog('conform', '--host', '--shard', shard, '--out', out, TC_LINKS);
      expect(r.exitCode).toBe(0);
    }
    const merged = await mprog('merge', a, b, '--out', m);
    expect(merged.exitCode).toBe(0);
    expect(merged.stdout).toMatch(new RegExp(`^total\\s+${TC_LINKS_COUNT}\\s`, 'm'));
    expect(XMLValidator.validate(readFileSync(join(m, 'junit.xml'), 'utf8'))).toBe(true);
  });

  it('exits 2 naming a corpus subdirectory it cannot read', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'locked'));
    writeFileSync(join(dir, 'a.json'), readFileSync(BASIC));
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'locked'), 0);
    // As nobody: root reads any directory.
    const r = await execa(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', 'bin/mprog.js', 'conform', '--host', '--out', join(dir, 'out'), dir],
      { reject: false },
    );
    expect(r.exitCode).toBe(2);
    expect(besidesProgress(r.stderr)).toBe(`mprog: corpus ${dir}: cannot read ${join(dir, 'locked')} (EACCES)`);
  });

  it('lets one run at a time write to an output directory', async () => {
    const { out, run: first } = await runUntil(1);
    const second = await mprog('conform', '--host', '--out', out, BASIC);
    expect(second.exitCode).toBe(2);
    expect(second.stderr).toBe(
      `mprog: --out ${out}: another mprog conform (pid ${first.pid}) is writing there; wait for it to end, or use another --out`,
    );
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
    // The command as this test ran it (node bin/mprog.js); test/host/interrupt-resume.test.ts runs the line.
    expect(r.stderr).toContain(`continue with: ./bin/mprog.js conform --host --out ${out} ${TC_LINKS} --resume`);
    const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
    expect(XMLValidator.validate(junit)).toBe(true);
    expect(junit.match(/<testcase /g)).toHaveLength(TC_LINKS_COUNT);
    const resumed = await mprog(...args, '--resume');
    expect(resumed.exitCode).toBe(0);
    expect(resumed.stderr).toContain(`${finished} already done, skipped`);
  });
});
