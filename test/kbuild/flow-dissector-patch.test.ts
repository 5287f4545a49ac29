// The flow dissector dimension (issue 21) finds a kernel mistake that nothing else can see: a patch
// to kernel/bpf/syscall.c (test/patches/non-mprog-attach-relative-unchecked.patch) that takes out
// ba62d61128bd "bpf: Refuse unused attributes in bpf_prog_{attach,detach}" from bpf_prog_attach(),
// so that relative_fd and expected_revision are silently accepted for an attach type that is
// neither mprog nor cgroup. On 6.12.117 (cgroup types on their own branch) only the flow
// dissector reaches that branch, so only flow dissector sequences tell the two kernels apart.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffOfPatch } from '../patch-diff.js';

const MINUTE = 60_000;
const PATCH = 'non-mprog-attach-relative-unchecked.patch';

interface Difference {
  diff: { verdict: string }[];
}

interface Minimal {
  programs: (string | { type?: string })[];
  steps: { op: string; relative?: unknown; expected_revision?: number; raw?: { at: number }[] }[];
}

describe('a syscall patch only flow dissector sequences can see', () => {
  it('is found by mprog diff --fuzz 200, shrunk to an attach with a relative or a revision, and nothing else differs', {
    timeout: 60 * MINUTE,
  }, async () => {
    const { build, stdout, out, fuzzed } = await diffOfPatch(PATCH);
    expect(build).toMatch(new RegExp(`^linux-source-6\\.12 \\S+ \\+ ${PATCH.replace(/\./g, '\\.')} \\(x86_64\\): Linux 6\\.12\\.\\d+\\n`));
    expect(stdout).toMatch(/result: the kernels differ \(exit 1\)/);
    const dirs = readdirSync(out).filter((d) => d.startsWith('difference-'));
    let changed = 0;
    let fuzzedChanged = 0;
    for (const d of dirs) {
      const details = JSON.parse(readFileSync(join(out, d, 'difference.json'), 'utf8')) as Difference;
      // A raw number that names an object of one kernel's world only (diff says so) is no
      // behaviour of the patch: those are left out.
      if (details.diff.every((step) => /the kernels' worlds differ/.test(step.verdict))) continue;
      changed++;
      if (fuzzed.includes(d)) fuzzedChanged++;
      for (const step of details.diff) expect(step.verdict).toMatch(/^behaviour changed: the base kernel answers as the emulator/);
      const minimal = JSON.parse(readFileSync(join(out, d, 'minimal.json'), 'utf8')) as Minimal;
      expect(minimal.steps.length).toBeLessThanOrEqual(3);
      expect(minimal.programs.some((p) => typeof p === 'object' && p.type === 'flow_dissector')).toBe(true);
      // The field given as itself, or as raw bytes over relative_fd (20..23) or expected_revision (24..31).
      const passes = (s: Minimal['steps'][number]) =>
        s.relative !== undefined || (s.expected_revision ?? 0) !== 0 || (s.raw ?? []).some((r) => r.at >= 20 && r.at < 32);
      expect(minimal.steps.some((s) => s.op === 'prog_attach' && passes(s))).toBe(true);
    }
    // corpus/flow-dissector's attr.json and checks.json, and the generator's own finds.
    expect(changed).toBeGreaterThanOrEqual(3);
    expect(fuzzedChanged).toBeGreaterThan(0);
    const records = readFileSync(join(out, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; outcome?: string; sequence?: string });
    expect(records.filter((x) => x.outcome === 'error' || x.outcome === 'crash')).toEqual([]);
    const failed = records.filter((x) => x.type === 'result' && x.outcome === 'fail');
    expect(failed.map((f) => f.sequence)).toContain('corpus/flow-dissector/checks.json');
    for (const f of failed) expect(f.sequence, 'a sequence without the flow dissector differs').toMatch(/^(corpus\/flow-dissector\/|fuzz-)/);
  });
});
