// The project's claim, tested: the shipped corpus (selftest re-tellings and edge cases) gives the
// same results on the emulator as on real kernels: the running kernel, Debian's 6.12 cloud
// kernel on x86_64 and arm64 in QEMU, and the mprog-6.12 kernel built here from Debian's source.
// Also: a kernel image given by path, with its modules directory, replays like the package it
// came from.

import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BadInput } from '../harness/errors.js';
import { runConform } from '../harness/conform/run.js';
import { normalise } from '../harness/normalise.js';
import { parseSequenceFile } from '../harness/seq/parse.js';
import { QemuTarget } from '../harness/targets/qemu.js';
import { cacheRoot, type Arch } from '../vm/paths.js';

const MINUTE = 60_000;

/** `mprog conform` of the shipped corpus on these targets, into a fresh directory. */
async function conformCorpus(targets: { kernels: string[]; arches: Arch[]; host: boolean; jobs: number; corpus?: string[] }) {
  const done = await runConform({
    corpus: ['test/sequences', 'corpus'],
    ...targets,
    shard: null,
    profile: null,
    outDir: mkdtempSync(join(tmpdir(), 'mprog-conformance-')),
    resume: false,
  });
  if (done instanceof BadInput) throw new Error(done.message);
  return done.report;
}

describe('the shipped corpus on real kernels', () => {
  it('agrees with the emulator on the host and on debian-6.12 x86_64 and arm64', { timeout: 30 * MINUTE }, async () => {
    const report = await conformCorpus({ kernels: ['debian-6.12'], arches: ['x86_64', 'arm64'], host: true, jobs: 2 });
    expect(report.targets.map((t) => t.target.spec)).toEqual(['host', 'qemu:debian-6.12:x86_64', 'qemu:debian-6.12:arm64']);
    const divergent = report.pairs.filter((p) => p.record.outcome !== 'pass' && p.record.outcome !== 'unsupported');
    expect(divergent.map((p) => `${p.record.target} ${p.record.sequence}: ${p.record.outcome}`)).toEqual([]);
    // Only the host lacks netkit; the VMs run every sequence.
    const unsupported = report.pairs.filter((p) => p.record.outcome === 'unsupported').map((p) => p.record.target);
    expect(new Set(unsupported)).toEqual(new Set(unsupported.length ? ['host'] : []));
    expect(report.status).toBe(0);
    // Every VM result names the exact Debian package its kernel came from.
    const origins = new Set(report.pairs.filter((p) => p.record.target.startsWith('qemu:')).map((p) => p.record.origin));
    expect([...origins].sort()).toEqual([
      expect.stringMatching(/^linux-image-6\.12\.\S+-cloud-amd64\S* 6\.12\.\d+-\S+$/),
      expect.stringMatching(/^linux-image-6\.12\.\S+-cloud-arm64\S* 6\.12\.\d+-\S+$/),
    ]);
  });

  it('agrees with the emulator on mprog-6.12, built here from Debian\'s 6.12 source', { timeout: 30 * MINUTE }, async () => {
    const report = await conformCorpus({ kernels: ['mprog-6.12'], arches: ['x86_64'], host: false, jobs: 1 });
    const notPassed = report.pairs.filter((p) => p.record.outcome !== 'pass');
    expect(notPassed.map((p) => `${p.record.sequence}: ${p.record.outcome}`)).toEqual([]);
    expect(report.pairs.length).toBeGreaterThan(90);
    // The result names the source package and the config it was built with.
    expect([...new Set(report.pairs.map((p) => p.record.origin))]).toEqual([
      expect.stringMatching(/^linux-source-6\.12 6\.12\.\d+-\S+ \+ kernel-configs\/mprog\.fragment$/),
    ]);
  });

  it('agrees on the cgroup corpus on debian-7.3 x86_64 and arm64', { timeout: 30 * MINUTE }, async () => {
    const report = await conformCorpus({ corpus: ['corpus/cgroup'], kernels: ['debian-7.3'], arches: ['x86_64', 'arm64'], host: false, jobs: 2 });
    const notPassed = report.pairs.filter((p) => p.record.outcome !== 'pass');
    expect(notPassed.map((p) => `${p.record.target} ${p.record.sequence}: ${p.record.outcome}`)).toEqual([]);
    expect(report.pairs.length).toBe(2 * readdirSync('corpus/cgroup').length);
    expect(report.status).toBe(0);
  });

  it('reports cgroup sequences on a kernel without the cgroup mprog API (debian-6.1) as unsupported, with the reason', { timeout: 10 * MINUTE }, async () => {
    const report = await conformCorpus({ corpus: ['corpus/cgroup/modes.json'], kernels: ['debian-6.1'], arches: ['x86_64'], host: false, jobs: 1 });
    expect(report.pairs.map((p) => [p.record.outcome, p.record.fault?.message])).toEqual([
      ['unsupported', expect.stringMatching(/cgroup attach points have no mprog API .*6\.17 and 6\.12\.110/)],
    ]);
  });

  it('boots a kernel image given by path with its modules directory', { timeout: 10 * MINUTE }, async () => {
    // The Debian 6.12 kernel the previous test prepared, used as if the user had built it.
    const dir = readdirSync(join(cacheRoot(), 'kernels')).find((d) => /^linux-image-6\.12\..*-cloud-amd64/.test(d));
    expect(dir).toBeDefined();
    const kernelDir = join(cacheRoot(), 'kernels', dir!);
    const seq = parseSequenceFile('test/sequences/tc_links/basic.json');
    const byPath = new QemuTarget(`qemu:${join(kernelDir, 'image')}:x86_64`, { modulesDir: join(kernelDir, 'modules') });
    const byName = new QemuTarget('qemu:debian-6.12:x86_64');
    try {
      expect(await byPath.kernel()).toBe(await byName.kernel());
      expect(normalise(seq, await byPath.run(seq))).toEqual(normalise(seq, await byName.run(seq)));
    } finally {
      await Promise.all([byPath.close(), byName.close()]);
    }
  });
});
