// The fuzzer against the kernel of this machine (needs root; no mocks): a deliberately wrong
// emulator profile (an entry that holds 2 programs) must be caught, shrunk to a few steps and
// turned into reproducers that say what the kernel says; the real profile must agree with it.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Profile, profileForRelease } from '../../emulator/profiles.js';
import { diffResults } from '../../harness/replay/step-diff.js';
import { generateSequence } from '../../harness/generation/generate.js';
import { cReproducer, parseCOutput } from '../../harness/reproducers/c.js';
import { shellReproducer } from '../../harness/reproducers/shell.js';
import { projectBpftool } from '../../vm/debian/project-bpftool.js';
import { hostArch } from '../../vm/runtime/paths.js';
import { type FuzzReport, fuzz } from '../../harness/fuzz/run.js';
import { compare } from '../../harness/replay/compare.js';
import { sequenceToText } from '../../harness/sequences/write.js';
import { normalise } from '../../harness/replay/normalise.js';
import { parseSequenceFile, parseSequenceText } from '../../harness/sequences/parse.js';
import { type Sequence, usesNetns } from '../../contract/seq.js';
import { BPF_F_PREORDER } from '../../uapi/bpf.js';
import { HostTarget } from '../../harness/targets/host.js';

// The running kernel's own profile: a pinned one (6.12) meets real version differences on a newer
// host (the union bpf_attr grew: an attr_size of 161 is E2BIG on 6.12 and EINVAL on 6.18.44).
const HOST = profileForRelease(release())!;
const MUTANT: Profile = { ...HOST, name: 'mutant-max2', mprogMax: 2 };
const GEN = { profile: HOST, maxSteps: 20, netkit: false, bulk: true };

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
    expect((await compare(host, HOST, minimal)).diff).toEqual([]);
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
    await cReproducersMatch(
      host,
      [0, 3, 11, 17, 29].map((index) => generateSequence(31, index, GEN).seq),
    );
  }, 120_000);

  it("C reproducers of queries answered past the caller's arrays (EFAULT, ENOMEM) match the host", async () => {
    await cReproducersMatch(host, ['corpus/attr/query-arrays.json', 'corpus/attr/query-arrays-cgroup.json'].map(parseSequenceFile));
  }, 120_000);

  it('writes a shell reproducer when every step has a bpftool/ip form, and it runs', async () => {
    const d = report.divergence!;
    const sh = shellReproducer(d.minimal);
    expect(existsSync(join(out, `divergence-${d.original.name}`, 'repro.sh'))).toBe('script' in sh);
    if (!('script' in sh))
      expect(d.shellNote).toMatch(/no shell reproducer: (step \d+|the sequence names its caller's capabilities|the sequence declares maps)/);
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

  it(`finds no divergence between the host kernel's own profile (${HOST.name}) and the kernel in 200 sequences`, async () => {
    const real = await fuzz({ target: host, seed: 2026, sequences: 200, maxSteps: 20, profile: HOST });
    const d = real.divergence;
    // A divergence here is a candidate emulator bug: the message carries the minimal sequence.
    expect(d, d ? `possible emulator bug:\n${sequenceToText(d.minimal)}\n${JSON.stringify(d.diff, null, 2)}` : '').toBeNull();
    expect(real.sequences).toBe(200);
    // A full tcx entry (63); a cgroup list holds 64 (BPF_CGROUP_MAX_PROGS) where the profile has cgroup sequences.
    expect(real.coverage.maxEntrySize).toBe(HOST.cgroupMprog ? 64 : HOST.mprogMax);
  }, 600_000);
});

/** Builds the C reproducer of each sequence, runs it, and compares what it printed with the host's results. */
async function cReproducersMatch(host: HostTarget, seqs: Sequence[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mprog-repro-'));
  for (const seq of seqs) {
    writeFileSync(join(dir, 'r.c'), cReproducer(seq));
    await execa('gcc', ['-static', '-O2', '-o', join(dir, 'r'), join(dir, 'r.c')]);
    const { stdout } = await execa(join(dir, 'r'));
    const onHost = normalise(seq, await host.run(seq));
    expect(diffResults(onHost, parseCOutput(stdout)), seq.name).toEqual([]);
  }
}

/** Runs the shell reproducer of `seq` with the project's bpftool: it ends cleanly; each step's status. */
async function runShellReproducer(seq: Sequence): Promise<{ run: { stdout: string }; status: string[] }> {
  const made = shellReproducer(seq);
  if (!('script' in made)) throw new Error(made.inexpressible.join('; '));
  const script = join(mkdtempSync(join(tmpdir(), 'mprog-sh-')), 'repro.sh');
  writeFileSync(script, made.script, { mode: 0o755 });
  const bpftoolDir = dirname(await projectBpftool(hostArch()!));
  const run = await execa('sh', [script], { reject: false, env: { PATH: `${bpftoolDir}:${process.env['PATH']}` } });
  expect(run.stderr).toBe('');
  expect(run.exitCode).toBe(0);
  const status = run.stdout
    .split('\n')
    .filter((l) => l.startsWith('step '))
    .map((l) => l.replace(/^step \d+ \w+: /, ''));
  return { run, status };
}

/** The cgroup code without BPF_F_PREORDER: what the fuzzer must find on a kernel that has it. */
const NO_PREORDER: Profile = { ...HOST, name: 'mutant-no-preorder', cgroupPreorder: false };
const CGEN = { profile: HOST, maxSteps: 20, netkit: false, bulk: true, cgroups: true };

/** The cgroup sequences among the first `n` of a seed. */
function cgroupSequences(seed: number, n: number): Sequence[] {
  return Array.from({ length: n }, (_, i) => generateSequence(seed, i, CGEN).seq).filter((s) => s.cgroups?.length);
}

describe('cgroup sequences', () => {
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
      expect((await compare(host, HOST, d!.minimal)).diff).toEqual([]);
    });

    it('writes a C reproducer of it that builds and prints what the kernel answered', async () => {
      const d = report.divergence!;
      const dir = join(out, `divergence-${d.original.name}`);
      await execa('gcc', ['-static', '-O2', '-Wall', '-Werror', '-o', join(dir, 'repro'), join(dir, 'repro.c')]);
      const { stdout } = await execa(join(dir, 'repro'));
      expect(diffResults(d.targetResults, parseCOutput(stdout))).toEqual([]);
    });

    it('C reproducers of generated cgroup sequences match the harness host results step by step', async () => {
      await cReproducersMatch(host, cgroupSequences(31, 40).slice(0, 6));
    }, 120_000);

    it('a shell reproducer of a cgroup sequence bpftool can express runs (cgroup attach/detach/show, mkdir, rmdir)', async () => {
      const seq = parseSequenceText(
        JSON.stringify({
          format: 'mprog-seq/1',
          name: 'sh-cgroup',
          cgroups: ['c0', { name: 'c1', parent: 'c0' }],
          programs: [
            { name: 'a', type: 'cgroup_skb' },
            { name: 'b', type: 'cgroup_skb' },
            { name: 'g', type: 'cgroup_sockopt' },
          ],
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
      const { run, status } = await runShellReproducer(seq);
      // Every step succeeded, and the effective query listed b (c1's override) and a (c0's multi).
      expect(status).toEqual(seq.steps.map(() => '0'));
      expect(run.stdout).toMatch(/cgroup_inet_ingress +b[\s\S]*cgroup_inet_ingress +a/);
    });

    it(`finds no divergence between the host kernel's own profile (${HOST.name}) and the kernel, cgroup sequences included`, async () => {
      const real = await fuzz({ target: host, seed: 2027, sequences: 200, maxSteps: 20, profile: HOST });
      const d = real.divergence;
      expect(d, d ? `possible emulator bug:\n${sequenceToText(d.minimal)}\n${JSON.stringify(d.diff, null, 2)}` : '').toBeNull();
      expect(real.sequences).toBe(200);
    }, 600_000);
  });
});

/** The flow dissector sequences among the first `n` of a seed. */
function flowDissectorSequences(seed: number, n: number): Sequence[] {
  return Array.from({ length: n }, (_, i) => generateSequence(seed, i, GEN).seq).filter(usesNetns);
}

describe('flow dissector sequences', () => {
  let host: HostTarget;

  beforeAll(() => {
    host = new HostTarget();
  });

  afterAll(async () => {
    await host?.close();
  });

  it('C reproducers of generated flow dissector sequences match the harness host results step by step', async () => {
    const seqs = flowDissectorSequences(41, 120).slice(0, 5);
    expect(seqs.length).toBe(5);
    await cReproducersMatch(host, seqs);
  }, 120_000);

  it('a shell reproducer of a flow dissector sequence runs (bpftool prog attach|detach PROG flow_dissector, net show)', async () => {
    const seq = parseSequenceText(
      JSON.stringify({
        format: 'mprog-seq/1',
        name: 'sh-flow',
        programs: [
          { name: 'f', type: 'flow_dissector' },
          { name: 'g', type: 'flow_dissector' },
        ],
        steps: [
          { op: 'prog_attach', prog: 'f', netns: 'self', attach_type: 'flow_dissector' },
          { op: 'prog_attach', prog: 'g', netns: 'self', attach_type: 'flow_dissector' },
          { op: 'query', netns: 'self', attach_type: 'flow_dissector' },
          { op: 'prog_detach', prog: 'f', netns: 'self', attach_type: 'flow_dissector' },
          { op: 'prog_detach', prog: 'g', netns: 'self', attach_type: 'flow_dissector' },
        ],
      }),
      'sh-flow.json',
    );
    const { run, status } = await runShellReproducer(seq);
    // g replaced f; detaching f, no longer attached, fails (ENOENT: bpftool exits non-zero), g detaches.
    expect(status.map((x) => x === '0')).toEqual([true, true, true, false, true]);
    expect(run.stdout).toMatch(/flow_dissector:\s+id \d+/);
  });
});

describe('the fuzz command', () => {
  it('takes --deadline for a kernel target: a sequence past it on the host is a timeout, exit 2', async () => {
    const out = mkdtempSync(join(tmpdir(), 'mprog-fuzz-cli-'));
    const run = await execa(
      'node',
      ['bin/mprog.js', 'fuzz', '--target', 'host', '--seed', '1', '--sequences', '3', '--deadline', '1,0,0', '--out', out],
      { reject: false },
    );
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/host: no answer from the agent in time/);
  });
});
