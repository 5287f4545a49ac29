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
import { EmulatorTarget } from '../harness/targets/emulator.js';
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
