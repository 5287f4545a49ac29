// The fuzzer against the kernel of this machine (needs root; no mocks): a deliberately wrong
// emulator profile (an entry that holds 2 programs) must be caught, shrunk to a few steps and
// turned into reproducers that say what the kernel says; the real profile must agree with it.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Profile, findProfile } from '../emulator/profiles.js';
import { main } from '../harness/cli/main.js';
import { diffResults } from '../harness/diff.js';
import { fuzzSequencesPerSecond } from '../harness/fuzz/bench.js';
import { generateSequence } from '../harness/fuzz/generator.js';
import { cReproducer, parseCOutput } from '../harness/fuzz/reproducer-c.js';
import { shellReproducer } from '../harness/fuzz/reproducer-sh.js';
import { projectBpftool } from '../vm/host-bpftool.js';
import { hostArch } from '../vm/paths.js';
import { type FuzzReport, compare, fuzz } from '../harness/fuzz/run.js';
import { rebuild, sequenceToText } from '../harness/fuzz/seqjson.js';
import { withoutSteps } from '../harness/fuzz/shrink.js';
import { normalise } from '../harness/normalise.js';
import { parseSequenceText } from '../harness/seq/parse.js';
import type { Sequence } from '../contract/seq.js';
import { EmulatorTarget, runOnEmulator } from '../harness/targets/emulator.js';
import { BPF_F_PREORDER } from '../emulator/uapi.js';
import { HostTarget } from '../harness/targets/host.js';

const P612 = findProfile('6.12')!;
const MUTANT: Profile = { ...P612, name: 'mutant-max2', mprogMax: 2 };
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

describe('against the host kernel', () => {
  let host: HostTarget;
  let out: string;
  let report: FuzzReport;

  beforeAll(async () => {
    host = new HostTarget();
    out = mkdtempSync(join(tmpdir(), 'mprog-fuzz-'));
    report = await fuzz({ target: host, seed: 5, sequences: 300, maxSteps: 12, profile: MUTANT, outDir: out });
  }, 600_000);

  afterAll(async () => {
    await host?.close();
  });

  it('finds the mutant (an entry of 2 programs) and shrinks it to at most 5 steps', () => {
    const d = report.divergence;
    expect(d).not.toBeNull();
    expect(d!.minimal.steps.length).toBeLessThanOrEqual(5);
    expect(d!.diff.length).toBeGreaterThan(0);
    // The minimal sequence is written as mprog-seq/1 and parses back to the same sequence.
    const text = readFileSync(join(out, `divergence-${d!.original.name}`, 'minimal.json'), 'utf8');
    expect(sequenceToText(parseSequenceText(text, 'minimal.json'))).toBe(sequenceToText(d!.minimal));
    expect(existsSync(join(out, 'coverage.json'))).toBe(true);
  });

  it('still diverges on the minimal sequence, and the real profile agrees with the kernel on it', async () => {
    const minimal = report.divergence!.minimal;
    expect((await compare(host, MUTANT, minimal)).diff.length).toBeGreaterThan(0);
    expect((await compare(host, P612, minimal)).diff).toEqual([]);
  });

  it('writes a C reproducer that builds with gcc -static and prints what the kernel answered', async () => {
    const d = report.divergence!;
    const dir = join(out, `divergence-${d.original.name}`);
    const source = join(dir, 'repro.c');
    expect(readFileSync(source, 'utf8')).toBe(cReproducer(d.minimal));
    const binary = join(dir, 'repro');
    await execa('gcc', ['-static', '-O2', '-Wall', '-Werror', '-o', binary, source]);
    const { stdout } = await execa(binary);
    const printed = parseCOutput(stdout);
    expect(printed).toHaveLength(d.minimal.steps.length);
    expect(diffResults(d.targetResults, printed)).toEqual([]);
  });

  it('C reproducers of generated sequences match the harness host results step by step', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mprog-repro-'));
    for (const index of [0, 3, 11, 17, 29]) {
      const { seq } = generateSequence(31, index, GEN);
      writeFileSync(join(dir, 'r.c'), cReproducer(seq));
      await execa('gcc', ['-static', '-O2', '-o', join(dir, 'r'), join(dir, 'r.c')]);
      const { stdout } = await execa(join(dir, 'r'));
      const onHost = normalise(seq, await host.run(seq));
      expect(diffResults(onHost, parseCOutput(stdout)), `sequence ${index}`).toEqual([]);
    }
  }, 120_000);

  it('writes a shell reproducer when every step has a bpftool/ip form, and it runs', async () => {
    const d = report.divergence!;
    const sh = shellReproducer(d.minimal);
    expect(existsSync(join(out, `divergence-${d.original.name}`, 'repro.sh'))).toBe('script' in sh);
    if (!('script' in sh)) expect(d.shellNote).toMatch(/no shell reproducer: step \d+/);
    // Whatever the shrunk sequence came to, a sequence bpftool and ip can express gets a script that runs.
    const expressible = parseSequenceText(
      JSON.stringify({
        format: 'mprog-seq/1',
        name: 'sh-expressible',
        devices: [{ name: 'v0' }],
        programs: ['a', 'b', 'c'],
        steps: [
          ...['a', 'b', 'c'].map((prog) => ({ op: 'prog_attach', prog, dev: 'v0', attach_type: 'tcx_ingress' })),
          { op: 'query', dev: 'v0', attach_type: 'tcx_ingress' },
        ],
      }),
      'sh-expressible.json',
    );
    const made = shellReproducer(expressible);
    if (!('script' in made)) throw new Error(`no script for an expressible sequence: ${made.inexpressible.join('; ')}`);
    const script = join(mkdtempSync(join(tmpdir(), 'mprog-sh-')), 'repro.sh');
    writeFileSync(script, made.script, { mode: 0o755 });
    // Debian 12's own bpftool (7.1) predates tcx: the script runs with the project's (7.5).
    const bpftoolDir = dirname(await projectBpftool(hostArch()!));
    const run = await execa('sh', [script], { reject: false, env: { PATH: `${bpftoolDir}:${process.env['PATH']}` } });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout.split('\n').filter((l) => l.startsWith('step '))).toHaveLength(expressible.steps.length);
  });

  it('finds no divergence between the real 6.12 profile and the kernel in 200 sequences', async () => {
    const real = await fuzz({ target: host, seed: 2026, sequences: 200, maxSteps: 20, profile: P612 });
    const d = real.divergence;
    // A divergence here is a candidate emulator bug: the message carries the minimal sequence.
    expect(d, d ? `possible emulator bug:\n${sequenceToText(d.minimal)}\n${JSON.stringify(d.diff, null, 2)}` : '').toBeNull();
    expect(real.sequences).toBe(200);
    expect(real.coverage.maxEntrySize).toBe(63);
  }, 600_000);
});

const P72 = findProfile('7.2')!;
/** The cgroup code without BPF_F_PREORDER: what the fuzzer must find on a kernel that has it. */
const NO_PREORDER: Profile = { ...P72, name: 'mutant-no-preorder', cgroupPreorder: false };
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
    expect([...seen]).toEqual(expect.arrayContaining(['EPERM', 'E2BIG', 'ESTALE', 'EINVAL', 'ENOENT', 'EBUSY', 'effective', 'preorder', 'rmdir', 'link', 'full']));
  });

  describe('against the host kernel', () => {
    let host: HostTarget;
    let out: string;
    let report: FuzzReport;

    beforeAll(async () => {
      host = new HostTarget();
      out = mkdtempSync(join(tmpdir(), 'mprog-fuzz-cgroup-'));
      report = await fuzz({ target: host, seed: 3, sequences: 300, maxSteps: 15, profile: NO_PREORDER, outDir: out });
    }, 600_000);

    afterAll(async () => {
      await host?.close();
    });

    it('finds the mutant (no BPF_F_PREORDER) in a cgroup sequence and shrinks it to a PREORDER attach or two', async () => {
      const d = report.divergence;
      expect(d).not.toBeNull();
      expect(d!.minimal.cgroups?.length).toBeGreaterThan(0);
      expect(d!.minimal.steps.length).toBeLessThanOrEqual(3);
      expect(d!.minimal.steps.some((s) => 'flags' in s && s.flags & BPF_F_PREORDER)).toBe(true);
      expect((await compare(host, P72, d!.minimal)).diff).toEqual([]);
    });

    it('writes a C reproducer of it that builds and prints what the kernel answered', async () => {
      const d = report.divergence!;
      const dir = join(out, `divergence-${d.original.name}`);
      await execa('gcc', ['-static', '-O2', '-Wall', '-Werror', '-o', join(dir, 'repro'), join(dir, 'repro.c')]);
      const { stdout } = await execa(join(dir, 'repro'));
      expect(diffResults(d.targetResults, parseCOutput(stdout))).toEqual([]);
    });

    it('C reproducers of generated cgroup sequences match the harness host results step by step', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mprog-repro-cgroup-'));
      for (const seq of cgroupSequences(31, 40).slice(0, 6)) {
        writeFileSync(join(dir, 'r.c'), cReproducer(seq));
        await execa('gcc', ['-static', '-O2', '-o', join(dir, 'r'), join(dir, 'r.c')]);
        const { stdout } = await execa(join(dir, 'r'));
        const onHost = normalise(seq, await host.run(seq));
        expect(diffResults(onHost, parseCOutput(stdout)), seq.name).toEqual([]);
      }
    }, 120_000);

    it('a shell reproducer of a cgroup sequence bpftool can express runs (cgroup attach/detach/show, mkdir, rmdir)', async () => {
      const seq = parseSequenceText(
        JSON.stringify({
          format: 'mprog-seq/1',
          name: 'sh-cgroup',
          cgroups: ['c0', { name: 'c1', parent: 'c0' }],
          programs: [{ name: 'a', type: 'cgroup_skb' }, { name: 'b', type: 'cgroup_skb' }, { name: 'g', type: 'cgroup_sockopt' }],
          steps: [
            { op: 'prog_attach', prog: 'a', cgroup: 'c0', attach_type: 'cgroup_inet_ingress', flags: ['BPF_F_ALLOW_MULTI'] },
            { op: 'prog_attach', prog: 'b', cgroup: 'c1', attach_type: 'cgroup_inet_ingress', flags: ['BPF_F_ALLOW_OVERRIDE'] },
            { op: 'prog_attach', prog: 'g', cgroup: 'c1', attach_type: 'cgroup_getsockopt' },
            { op: 'query', cgroup: 'c1', attach_type: 'cgroup_inet_ingress', query_flags: ['BPF_F_QUERY_EFFECTIVE'] },
            { op: 'cgroup_create', name: 'c2', parent: 'c1' },
            { op: 'cgroup_delete', cgroup: 'c2' },
            { op: 'prog_detach', prog: 'b', cgroup: 'c1', attach_type: 'cgroup_inet_ingress' },
            { op: 'cgroup_delete', cgroup: 'c1' },
          ],
        }),
        'sh-cgroup.json',
      );
      const made = shellReproducer(seq);
      if (!('script' in made)) throw new Error(made.inexpressible.join('; '));
      const script = join(mkdtempSync(join(tmpdir(), 'mprog-sh-cgroup-')), 'repro.sh');
      writeFileSync(script, made.script, { mode: 0o755 });
      const bpftoolDir = dirname(await projectBpftool(hostArch()!));
      const run = await execa('sh', [script], { reject: false, env: { PATH: `${bpftoolDir}:${process.env['PATH']}` } });
      expect(run.stderr).toBe('');
      expect(run.exitCode).toBe(0);
      // Every step succeeded, and the effective query listed b (c1's override) and a (c0's multi).
      expect(run.stdout.split('\n').filter((l) => l.startsWith('step ')).map((l) => l.replace(/^step \d+ \w+: /, ''))).toEqual(seq.steps.map(() => '0'));
      expect(run.stdout).toMatch(/cgroup_inet_ingress +b[\s\S]*cgroup_inet_ingress +a/);
    });

    it('finds no divergence between the real 7.2 profile and the kernel, cgroup sequences included', async () => {
      const real = await fuzz({ target: host, seed: 2027, sequences: 200, maxSteps: 20, profile: P72 });
      const d = real.divergence;
      expect(d, d ? `possible emulator bug:\n${sequenceToText(d.minimal)}\n${JSON.stringify(d.diff, null, 2)}` : '').toBeNull();
      expect(real.sequences).toBe(200);
    }, 600_000);
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

  it('exits 2 on bad input and on an unusable target; a mutant profile cannot be chosen', async () => {
    expect(await main(['fuzz', '--target', 'emulator', '--sequences', 'many'])).toBe(2);
    expect(await main(['fuzz', '--target', 'emulator', '--profile', 'mutant-max2'])).toBe(2);
    expect(await main(['fuzz', '--target', 'nowhere'])).toBe(2);
    expect(await main(['fuzz'])).toBe(2);
    expect(await main(['fuzz', '--target', 'host', '--deadline', 'soon'])).toBe(2);
  });

  it('takes --deadline for a kernel target: a sequence past it on the host is a timeout, exit 2', async () => {
    const out = mkdtempSync(join(tmpdir(), 'mprog-fuzz-cli-'));
    const run = await execa('node', ['bin/mprog.js', 'fuzz', '--target', 'host', '--seed', '1', '--sequences', '3', '--deadline', '1,0,0', '--out', out], { reject: false });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/host: no answer from the agent in time/);
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
