// The qdisc dimension (issue 21) finds a kernel mistake that nothing else can see: a patch to
// kernel/bpf/tcx.c (test/patches/tcx-qdisc-entry-revision-reset.patch) that restarts the
// revision of an entry a clsact/ingress qdisc keeps alive after its last program is detached
// (tcx_prog_detach: entry_new active but empty). Without a qdisc such an entry is freed and
// starts over at 1 anyway, so only sequences with a qdisc_add tell the two kernels apart. Built
// like test/kbuild/kernel-diff.test.ts (`mprog kernel build debian-6.12 --patch`, on the cached
// objects of the unpatched tree), then `mprog diff --base mprog-6.12 --fuzz 200`.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffOfPatch } from '../patch-diff.js';

const MINUTE = 60_000;
const PATCH = 'tcx-qdisc-entry-revision-reset.patch';

interface Minimal {
  steps: { op: string }[];
}

interface Difference {
  diff: { op: string; fields: { path: string; left?: unknown; right?: unknown }[]; verdict: string }[];
}

describe('a tcx patch only qdisc sequences can see', () => {
  it('is found by mprog diff --fuzz 200, shrunk to a few steps that add a qdisc, and nothing else differs', { timeout: 60 * MINUTE }, async () => {
    const { build, stdout, out, fuzzed } = await diffOfPatch(PATCH);
    expect(build).toMatch(new RegExp(`^linux-source-6\\.12 \\S+ \\+ ${PATCH.replace(/\./g, '\\.')} \\(x86_64\\): Linux 6\\.12\\.\\d+\\n`));
    expect(stdout).toMatch(/result: the kernels differ \(exit 1\)/);

    const dirs = readdirSync(out).filter((d) => d.startsWith('difference-'));
    const records = readFileSync(join(out, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; outcome?: string; sequence?: string });
    const failed = records.filter((x) => x.type === 'result' && x.outcome === 'fail');
    // Found by the generator, not only by the shipped corpus/qdisc/: a generated sequence differs,
    // shrunk into a difference of its own or, the same difference as a corpus file's, named there
    // (diff's cgroup sequences took some of seed 1's tcx ones since diff fuzzes cgroups too).
    expect(failed.filter((f) => f.sequence?.startsWith('fuzz-')).length).toBeGreaterThan(0);
    for (const d of dirs) {
      const minimal = JSON.parse(readFileSync(join(out, d, 'minimal.json'), 'utf8')) as Minimal;
      const details = JSON.parse(readFileSync(join(out, d, 'difference.json'), 'utf8')) as Difference;
      expect(minimal.steps.length).toBeLessThanOrEqual(5);
      expect(minimal.steps.some((s) => s.op === 'qdisc_add')).toBe(true);
      for (const step of details.diff) {
        expect(step.verdict).toMatch(/^behaviour changed: the base kernel answers as the emulator/);
        // The revision the kept entry shows (3 on the base, 1 on the patched kernel), or what
        // an expected_revision of 3 then meets (ESTALE on the patched kernel).
        const revision = step.fields.find((f) => f.path === 'query.revision');
        if (revision) expect([revision.left, revision.right]).toEqual([3, 1]);
        else expect(step.fields.find((f) => f.path === 'errno')?.right).toBe('ESTALE');
      }
    }
    // Every sequence the kernels answered differently has a qdisc step: the rest of the shipped
    // corpus and of the generated sequences agree on both.
    expect(failed.length).toBeGreaterThanOrEqual(dirs.length);
    expect(records.filter((x) => x.outcome === 'error' || x.outcome === 'crash')).toEqual([]);
    for (const f of failed) expect(f.sequence, 'a sequence without qdiscs differs').toMatch(/^(corpus\/qdisc\/|fuzz-)/);
    for (const d of fuzzed) {
      expect(readFileSync(join(out, d, 'original.json'), 'utf8')).toMatch(/"op": ?"qdisc_add"/);
    }
  });
});
