// The project's claim, tested: the shipped corpus (selftest re-tellings and edge cases) gives the
// same results on the emulator as on real kernels: the running kernel, Debian's 6.12 cloud
// kernel on x86_64 and arm64 in QEMU, and Debian's 7.3 and 6.1 on the cgroup corpus (the
// mprog-6.12 kernel built here from Debian's source: test/kbuild/corpus-on-mprog-kernel.test.ts).
// Also: a kernel image given by path, with its modules directory, replays like the package it
// came from.

import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalise } from '../../harness/replay/normalise.js';
import { parseSequenceFile } from '../../harness/sequences/parse.js';
import { QemuTarget } from '../../harness/targets/qemu.js';
import { prepareKernel } from '../../vm/guest/boot-kernel.js';
import { conformCorpus } from '../conform-corpus.js';

const MINUTE = 60_000;

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

  it('agrees on the cgroup corpus on debian-7.3 x86_64 and arm64', { timeout: 30 * MINUTE }, async () => {
    const report = await conformCorpus({ corpus: ['corpus/cgroup'], kernels: ['debian-7.3'], arches: ['x86_64', 'arm64'], host: false, jobs: 2 });
    const notPassed = report.pairs.filter((p) => p.record.outcome !== 'pass');
    expect(notPassed.map((p) => `${p.record.target} ${p.record.sequence}: ${p.record.outcome}`)).toEqual([]);
    expect(report.pairs.length).toBe(2 * readdirSync('corpus/cgroup').length);
    expect(report.status).toBe(0);
  });

  it('reports cgroup sequences on a kernel without the cgroup mprog API (debian-6.1) as unsupported, with the reason', {
    timeout: 10 * MINUTE,
  }, async () => {
    const report = await conformCorpus({ corpus: ['corpus/cgroup/modes.json'], kernels: ['debian-6.1'], arches: ['x86_64'], host: false, jobs: 1 });
    expect(report.pairs.map((p) => [p.record.outcome, p.record.fault?.message])).toEqual([
      ['unsupported', expect.stringMatching(/cgroup attach points have no mprog API .*6\.17 and 6\.12\.110/)],
    ]);
  });

  it('agrees on the qdisc corpus on debian-7.3 x86_64 and arm64, and reports it unsupported on the 6.6.87 image (no CONFIG_NET_SCHED)', {
    timeout: 30 * MINUTE,
  }, async () => {
    const report = await conformCorpus({ corpus: ['corpus/qdisc'], kernels: ['debian-7.3'], arches: ['x86_64', 'arm64'], host: false, jobs: 2 });
    expect(
      report.pairs.filter((p) => p.record.outcome !== 'pass').map((p) => `${p.record.target} ${p.record.sequence}: ${p.record.outcome}`),
    ).toEqual([]);
    expect(report.pairs.length).toBe(2 * readdirSync('corpus/qdisc').length);
    const old = await conformCorpus({
      corpus: ['corpus/qdisc/rtnetlink.json'],
      kernels: ['../shared/kernels/linux-6.6.87-x86_64.bzImage'],
      arches: ['x86_64'],
      host: false,
      jobs: 1,
    });
    expect(old.pairs.map((p) => [p.record.outcome, p.record.fault?.message])).toEqual([
      ['unsupported', expect.stringMatching(/this kernel has no qdiscs \(CONFIG_NET_SCHED/)],
    ]);
  });

  it('agrees on the caps corpus on debian-7.3 and on the 6.6.87 image, where a caller with CAP_BPF alone still detaches the last program (no ae23bc81ddf7)', {
    timeout: 30 * MINUTE,
  }, async () => {
    const report = await conformCorpus({
      corpus: ['corpus/caps'],
      kernels: ['debian-7.3', '../shared/kernels/linux-6.6.87-x86_64.bzImage'],
      arches: ['x86_64'],
      host: false,
      jobs: 2,
    });
    expect(
      report.pairs
        .filter((p) => p.record.outcome !== 'pass' && !(p.record.outcome === 'unsupported' && p.record.release === '6.6.87'))
        .map((p) => `${p.record.target} ${p.record.sequence}: ${p.record.outcome} ${p.record.fault?.message ?? ''}`),
    ).toEqual([]);
    // Step 3 of detach-no-fd.json: BPF_PROG_DETACH without a program fd, as a caller with CAP_BPF alone.
    const detach = (release: RegExp) =>
      report.pairs.find((p) => release.test(p.record.release ?? '') && p.record.sequence.endsWith('detach-no-fd.json'))!.record.results!.kernel[3];
    expect(detach(/^7\.3\./)).toMatchObject({ ok: false, errno: 'EPERM' });
    expect(detach(/^6\.6\.87$/)).toMatchObject({ ok: true });
  });

  it('agrees on the flow dissector corpus on debian-7.3 x86_64 and arm64 and on the 6.6.87 image (ba62d61128bd in all)', {
    timeout: 30 * MINUTE,
  }, async () => {
    const corpus = ['corpus/flow-dissector'];
    const pairs = [
      ...(await conformCorpus({ corpus, kernels: ['debian-7.3'], arches: ['x86_64', 'arm64'], host: false, jobs: 2 })).pairs,
      ...(await conformCorpus({ corpus, kernels: ['../shared/kernels/linux-6.6.87-x86_64.bzImage'], arches: ['x86_64'], host: false, jobs: 1 }))
        .pairs,
    ];
    expect(pairs.filter((p) => p.record.outcome !== 'pass').map((p) => `${p.record.target} ${p.record.sequence}: ${p.record.outcome}`)).toEqual([]);
    expect(pairs.length).toBe(3 * readdirSync('corpus/flow-dissector').length);
    // checks.json step 2: a relative_fd on a flow dissector attach, refused on every kernel.
    for (const p of pairs.filter((q) => q.record.sequence.endsWith('checks.json')))
      expect(p.record.results!.kernel[2]).toMatchObject({ errno: 'EINVAL' });
  });

  it('agrees on the maps corpus on debian-7.3 x86_64 and arm64, and on its tcx file on the 6.6.87 image (its cgroup files unsupported: no cgroup mprog API)', {
    timeout: 30 * MINUTE,
  }, async () => {
    const report = await conformCorpus({ corpus: ['corpus/maps'], kernels: ['debian-7.3'], arches: ['x86_64', 'arm64'], host: false, jobs: 1 });
    expect(
      report.pairs.filter((p) => p.record.outcome !== 'pass').map((p) => `${p.record.target} ${p.record.sequence}: ${p.record.outcome}`),
    ).toEqual([]);
    expect(report.pairs.length).toBe(2 * readdirSync('corpus/maps').length);
    // The storage check answered on both: link-update.json's step 2 (another cgroup storage).
    for (const p of report.pairs.filter((x) => x.record.sequence.endsWith('link-update.json'))) {
      expect(p.record.results!.kernel[2]).toMatchObject({ ok: false, errno: 'EINVAL' });
    }
    const old = await conformCorpus({
      corpus: ['corpus/maps'],
      kernels: ['../shared/kernels/linux-6.6.87-x86_64.bzImage'],
      arches: ['x86_64'],
      host: false,
      jobs: 1,
    });
    expect(old.pairs.map((p) => [basename(p.record.sequence), p.record.outcome]).sort()).toEqual([
      ['link-update.json', 'unsupported'],
      ['load.json', 'unsupported'],
      ['replace.json', 'unsupported'],
      ['tcx-array.json', 'pass'],
    ]);
  });

  it('boots a kernel image given by path with its modules directory', { timeout: 10 * MINUTE }, async () => {
    // The Debian 6.12 kernel a debian-6.12 guest boots (prepared here if the cache lacks it), used
    // as if the user had built it.
    const kernelDir = dirname((await prepareKernel('debian-6.12', 'x86_64')).image);
    expect(basename(kernelDir)).toMatch(/^linux-image-6\.12\..*-cloud-amd64/);
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
