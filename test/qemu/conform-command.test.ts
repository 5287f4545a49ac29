// `mprog conform` on kernels in QEMU: the host and a VM at once, a kernel without tcx, and a kernel
// that panics (the host alone: test/host/conform-command.test.ts).

import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { profileForRelease } from '../../emulator/profiles.js';
import type { ConformDone } from '../../harness/conform/run.js';
import { BASIC, MAX_INGRESS, conform } from '../conform-corpus.js';
import type { ResultRecord } from '../../harness/results/records.js';
import { renderReport } from '../../harness/results/writers/terminal.js';
import { QemuTarget } from '../../harness/targets/qemu.js';

function recordOf(done: ConformDone, name: string): ResultRecord {
  return done.report.pairs.find((p) => p.record.name === name)!.record;
}

describe('mprog conform on kernels in QEMU', () => {
  const MINUTE = 60_000;

  it('runs the host and a debian-6.12 VM at once, one suite per target', { timeout: 10 * MINUTE }, async () => {
    const done = await conform({ corpus: [BASIC, MAX_INGRESS], kernels: ['debian-6.12'], jobs: 2 });
    expect(done.report.status).toBe(0);
    expect(done.report.targets.map((t) => [t.target.spec, t.profiles])).toEqual([
      ['host', [profileForRelease(release())!.name]],
      ['qemu:debian-6.12:x86_64', ['6.12.114']], // Debian's 6.12 is past the cgroup mprog backport
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
