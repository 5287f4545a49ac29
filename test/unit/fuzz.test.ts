// The fuzzer's pure parts, on the emulator alone: generation (same seed, same sequences; valid
// mprog-seq/1; what a batch reaches), the shrinking helpers, cgroup generation, the bench, and
// the fuzz command against the emulator and on bad input (against the host kernel:
// test/host/fuzz.test.ts).

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Sequence } from '../../contract/seq.js';
import { findProfile } from '../../emulator/profiles.js';
import { fuzzSequencesPerSecond } from '../../harness/bench/fuzz.js';
import { fuzz } from '../../harness/fuzz/run.js';
import { main } from '../../harness/cli/main.js';
import { generateSequence } from '../../harness/generation/generate.js';
import { shrink, withoutSteps } from '../../harness/generation/shrink.js';
import { normalise } from '../../harness/replay/normalise.js';
import { parseSequenceText } from '../../harness/sequences/parse.js';
import { rebuild, sequenceToText } from '../../harness/sequences/write.js';
import { EmulatorTarget, runOnEmulator } from '../../harness/targets/emulator.js';
import { BPF_F_PREORDER } from '../../uapi/bpf.js';

const P612 = findProfile('6.12')!;
const GEN = { profile: P612, maxSteps: 20, netkit: false, bulk: true };

describe('generation', () => {
  it('gives the same sequences for the same seed, and others for another seed', () => {
    for (const index of [0, 1, 7, 42]) {
      const a = generateSequence(1234, index, GEN);
      const b = generateSequence(1234, index, GEN);
      expect(sequenceToText(b.seq)).toBe(sequenceToText(a.seq));
      expect(b.sizes).toEqual(a.sizes);
    }
    const texts = (seed: number) => [0, 1, 2, 3].map((i) => sequenceToText(generateSequence(seed, i, GEN).seq));
    expect(texts(1)).not.toEqual(texts(2));
  });

  it('generates valid mprog-seq/1 that round-trips through the parser', () => {
    for (let index = 0; index < 100; index++) {
      const { seq } = generateSequence(99, index, { ...GEN, netkit: true });
      const text = sequenceToText(seq);
      const reparsed = parseSequenceText(text, seq.file);
      expect(sequenceToText(reparsed)).toBe(text);
    }
  });

  it('reaches the entry limit and mixes relatives, revisions and links over a batch', () => {
    const sizes = new Set<number>();
    let byId = 0;
    let byFd = 0;
    let links = 0;
    for (let index = 0; index < 200; index++) {
      const g = generateSequence(7, index, GEN);
      g.sizes.forEach((s) => sizes.add(s));
      for (const step of g.seq.steps) {
        if ('relative' in step && step.relative && 'id' in step.relative) byId++;
        if ('relative' in step && step.relative && 'fd' in step.relative) byFd++;
        if (step.op === 'link_create') links++;
      }
    }
    expect(sizes.has(63)).toBe(true);
    expect([...sizes].some((s) => s >= 60 && s < 63)).toBe(true);
    expect(byId).toBeGreaterThan(20);
    expect(byFd).toBeGreaterThan(20);
    expect(links).toBeGreaterThan(50);
  });

  it("asks queries for more than the caller's arrays hold and for more than kmalloc() gives", () => {
    const counts = new Set<number>();
    let pastArrays = 0;
    for (let index = 0; index < 3000; index++) {
      for (const step of generateSequence(5, index, { ...GEN, cgroups: true }).seq.steps) {
        if (step.op !== 'query') continue;
        counts.add(step.count);
        const raw = step.raw?.find((r) => r.at === 24);
        const asked = raw && Buffer.from(raw.hex, 'hex').readUInt32LE();
        if (asked !== undefined && asked > step.count && asked <= step.count + 3) pastArrays++;
      }
    }
    expect([1048576, 1048577, 0xffffffff].filter((c) => counts.has(c))).toEqual([1048576, 1048577, 0xffffffff]);
    expect(pastArrays).toBeGreaterThan(10);
  });
});

describe('shrinking helpers', () => {
  it('drops the steps that use a link whose link_create was dropped, keeping the rest valid', () => {
    const seq = parseSequenceText(
      JSON.stringify({
        format: 'mprog-seq/1',
        name: 'dangling',
        devices: ['v0'],
        programs: ['a', 'b'],
        steps: [
          { op: 'link_create', link: 'l0', prog: 'a', dev: 'v0', attach_type: 'tcx_ingress' },
          { op: 'prog_attach', prog: 'b', dev: 'v0', attach_type: 'tcx_ingress', flags: ['BPF_F_BEFORE', 'BPF_F_LINK'], relative: { fd: 'l0' } },
          { op: 'query', dev: 'v0', attach_type: 'tcx_ingress' },
          { op: 'link_close', link: 'l0' },
        ],
      }),
      'dangling.json',
    );
    const steps = withoutSteps(seq.steps, new Set([0]));
    expect(steps.map((s) => s.op)).toEqual(['query']);
    const rebuilt = rebuild(seq, { steps });
    expect(rebuilt).not.toBeInstanceOf(Error);
    expect((rebuilt as Sequence).links).toEqual([]);
  });
});

const P72 = findProfile('7.2')!;
const CGEN = { profile: P72, maxSteps: 20, netkit: false, bulk: true, cgroups: true };

/** The cgroup sequences among the first `n` of a seed. */
function cgroupSequences(seed: number, n: number): Sequence[] {
  return Array.from({ length: n }, (_, i) => generateSequence(seed, i, CGEN).seq).filter((s) => s.cgroups?.length);
}

describe('cgroup sequences', () => {
  it('round-trip through the parser and reach the limit of 64, effective queries, PREORDER, links and rmdir over a batch', () => {
    const seqs = cgroupSequences(8, 300);
    expect(seqs.length).toBeGreaterThan(50);
    const seen = new Set<string>();
    for (const seq of seqs) {
      const text = sequenceToText(seq);
      expect(sequenceToText(parseSequenceText(text, seq.file))).toBe(text);
      for (const [i, r] of normalise(seq, runOnEmulator(seq, P72)).entries()) {
        const step = seq.steps[i]!;
        if (r.errno) seen.add(r.errno);
        if (step.op === 'query' && step.query_flags === 1 && r.ok) seen.add('effective');
        if ('flags' in step && step.flags & BPF_F_PREORDER && r.ok) seen.add('preorder');
        if (step.op === 'cgroup_delete' && r.ok) seen.add('rmdir');
        if (step.op === 'link_create' && r.ok) seen.add('link');
        if (r.query?.count === 64) seen.add('full');
      }
    }
    expect([...seen]).toEqual(
      expect.arrayContaining(['EPERM', 'E2BIG', 'ESTALE', 'EINVAL', 'ENOENT', 'EBUSY', 'effective', 'preorder', 'rmdir', 'link', 'full']),
    );
  });
});

describe('bench', () => {
  it('measures sequences per second on the emulator', async () => {
    // The speed goal is npm run bench's; here only that it measures.
    const rate = await fuzzSequencesPerSecond(new EmulatorTarget('6.12'), 0.5);
    expect(Number.isFinite(rate) && rate > 0).toBe(true);
  });
});

describe('the fuzz command', () => {
  it('runs against the emulator (exit 0) and writes coverage.json', async () => {
    const out = mkdtempSync(join(tmpdir(), 'mprog-fuzz-cli-'));
    const status = await main(['fuzz', '--target', 'emulator:6.12', '--seed', '3', '--sequences', '20', '--out', out]);
    expect(status).toBe(0);
    const coverage = JSON.parse(readFileSync(join(out, 'coverage.json'), 'utf8')) as { sequences: number };
    expect(coverage.sequences).toBe(20);
  });

  it('with --time alone runs until the time is up (not the default 1000), saying every few seconds how far it is', async () => {
    const out = mkdtempSync(join(tmpdir(), 'mprog-fuzz-cli-'));
    const started = Date.now();
    const r = await execa('node', ['bin/mprog.js', 'fuzz', '-t', 'emulator', '--seed', '4', '--time', '11s', '-o', out], { reject: false });
    expect(r.exitCode).toBe(0);
    // Until the time was up: a run capped at the default 1000 ends in about 3 s on an idle machine.
    expect(Date.now() - started).toBeGreaterThanOrEqual(11_000);
    const lines = r.stderr.split('\n').filter((l) => /^fuzz: \d+ sequences/.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(l).toMatch(/^fuzz: \d+ sequences \([\d.]+\/s\), no divergence yet, about \d+s left$/);
    const coverage = JSON.parse(readFileSync(join(out, 'coverage.json'), 'utf8')) as { sequences: number };
    expect(r.stdout).toBe(`no divergence in ${coverage.sequences} sequences (seed 4); coverage in ${out}/coverage.json`);
  }, 30_000);

  it('exits 2 on bad input and on an unusable target; a mutant profile cannot be chosen', async () => {
    expect(await main(['fuzz', '--target', 'emulator', '--sequences', 'many'])).toBe(2);
    expect(await main(['fuzz', '--target', 'emulator', '--profile', 'mutant-max2'])).toBe(2);
    expect(await main(['fuzz', '--target', 'nowhere'])).toBe(2);
    expect(await main(['fuzz'])).toBe(2);
    expect(await main(['fuzz', '--target', 'host', '--deadline', 'soon'])).toBe(2);
  });

  it('refuses an --out it cannot write before fuzzing, naming it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mprog-fuzz-cli-')), 'a-file');
    writeFileSync(file, '');
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => written.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      expect(await main(['fuzz', '--target', 'emulator', '--sequences', '1', '--out', join(file, 'out')])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(written.join('')).toMatch(new RegExp(`--out ${join(file, 'out')}: cannot write there`));
  });
});

describe('a long shrink', () => {
  it('says every few seconds how many candidates it tried and how many steps are left', async () => {
    const seq = generateSequence(7, 0, { profile: P612, maxSteps: 40, netkit: true, bulk: true, nearIds: [] }).seq;
    const said: string[] = [];
    // Each candidate at a kernel's pace; "still diverges" while it has three steps or more.
    const still = async (candidate: Sequence) => (await sleep(400), candidate.steps.length >= 3);
    const { seq: small } = await shrink(seq, still, { log: (l) => said.push(l) });
    expect(small.steps.length).toBe(3);
    expect(said.length).toBeGreaterThan(0);
    const left = said.map((l) =>
      Number(new RegExp(`^shrinking: \\d+ candidates tried, (\\d+) of the ${seq.steps.length} steps left so far$`).exec(l)?.[1]),
    );
    expect(left.every((n) => n >= 3)).toBe(true);
    expect(left).toEqual([...left].sort((a, b) => b - a));
  }, 30_000);
});

describe('a divergence that does not show again', () => {
  it('is flaky: said and written apart, not shrunk, and the run goes on', async () => {
    // A kernel that answers one step wrongly once (the first answer of sequence 2's first step),
    // as a racy kernel would: the emulator stands in for it otherwise.
    const kernel = new EmulatorTarget('6.12');
    let asked = 0;
    const racy = {
      spec: 'racy',
      kernel: () => kernel.kernel(),
      close: () => kernel.close(),
      run: async (seq: Sequence, opts?: Parameters<EmulatorTarget['run']>[1]) => {
        const r = await kernel.run(seq, opts);
        if (seq.name === 'fuzz-5-2' && asked++ === 0 && r.steps[0]) r.steps[0].ret = r.steps[0].ret < 0 ? 0 : -16;
        return r;
      },
    };
    const out = mkdtempSync(join(tmpdir(), 'mprog-fuzz-flaky-'));
    const said: string[] = [];
    // Slowed to a kernel's pace, one answer at a time, so that the run lasts long enough to say where it stands.
    let queue: Promise<unknown> = Promise.resolve();
    const slow = {
      ...racy,
      run: (seq: Sequence, opts?: Parameters<EmulatorTarget['run']>[1]) => {
        const answer = queue.then(() => sleep(100)).then(() => racy.run(seq, opts));
        queue = answer.catch(() => undefined);
        return answer;
      },
    };
    const report = await fuzz({ target: slow, seed: 5, sequences: 60, maxSteps: 10, outDir: out, profile: P612, log: (l) => said.push(l) });
    expect(report.divergence).toBeNull();
    expect(report.flaky.map((f) => f.index)).toEqual([2]);
    expect(report.sequences).toBe(60);
    const progress = said.filter((l) => l.startsWith('fuzz: ') && l.includes(' sequences ('));
    expect(progress.length).toBeGreaterThan(0);
    for (const l of progress)
      expect(l).toMatch(/^fuzz: \d+ of 60 sequences \([\d.]+\/s\), no divergence yet, 1 flaky \(diverged once, not again\), about \d+s left$/);
    const written = JSON.parse(readFileSync(join(out, 'flaky-fuzz-5-2', 'divergence.json'), 'utf8')) as { diff: { step: number }[] };
    expect(written.diff[0]!.step).toBe(0);
  });
});
