// The project's claim on a kernel built here: the shipped corpus gives the same results on the
// emulator as on mprog-6.12, built from Debian's 6.12 source with kernel-configs/mprog.fragment
// (once, then cached), in QEMU. Debian's own kernels and the host: test/qemu/corpus-on-kernels.test.ts.

import { describe, expect, it } from 'vitest';
import { conformCorpus } from '../conform-corpus.js';

const MINUTE = 60_000;

describe('the shipped corpus on a kernel built here', () => {
  it("agrees with the emulator on mprog-6.12, built here from Debian's 6.12 source", { timeout: 30 * MINUTE }, async () => {
    const report = await conformCorpus({ kernels: ['mprog-6.12'], arches: ['x86_64'], host: false, jobs: 1 });
    const notPassed = report.pairs.filter((p) => p.record.outcome !== 'pass');
    expect(notPassed.map((p) => `${p.record.sequence}: ${p.record.outcome}`)).toEqual([]);
    expect(report.pairs.length).toBeGreaterThan(90);
    // The result names the source package and the config it was built with.
    expect([...new Set(report.pairs.map((p) => p.record.origin))]).toEqual([
      expect.stringMatching(/^linux-source-6\.12 6\.12\.\d+-\S+ \+ kernel-configs\/mprog\.fragment$/),
    ]);
  });
});
