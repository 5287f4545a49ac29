// The maps dimension's own kernel patch (issue 21): cgroup_bpf_storages_compatible() removed from
// 6.12.117's __cgroup_bpf_replace() (test/patches/cgroup-link-update-storage-unchecked.patch), so
// a cgroup link's program can be replaced by one with another cgroup storage, or none, again: the
// bug the check fixed (bpf_get_local_storage() of the new program would find the old one's
// storage, or none). Programs without maps all have the same storages (none), so only sequences
// that declare storage maps can tell the two kernels apart; `mprog diff --fuzz 200` must find it
// through the generator's maps (maps-choice.ts) and shrink it to a link and its update.

import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { diffOfPatch } from '../patch-diff.js';

const MINUTE = 60_000;
const PATCH = 'cgroup-link-update-storage-unchecked.patch';

const mprog = (...args: string[]) => execa('node', ['bin/mprog.js', ...args], { reject: false, env: { NO_COLOR: '1' } });

interface Minimal {
  maps?: { name: string; type: string }[];
  programs: (string | { name: string; maps?: string[] })[];
  steps: { op: string; prog?: string }[];
}

interface Difference {
  diff: { op: string; fields: { path: string; left?: unknown; right?: unknown }[]; verdict: string }[];
}

interface Record {
  type: string;
  outcome?: string;
  sequence?: string;
}

const records = (out: string) =>
  readFileSync(join(out, 'results.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record);

describe('a cgroup patch only sequences with storage maps can see', () => {
  it('is found by mprog diff --fuzz 200, shrunk to a link update between programs of other storages; corpus/cgroup and the rest agree', {
    timeout: 60 * MINUTE,
  }, async () => {
    // The cgroup corpus (links and updates, no maps) beside the fuzzing: it must not differ.
    const { build, stdout, out, image, fuzzed } = await diffOfPatch(PATCH, { corpus: ['corpus/cgroup'] });
    expect(build).toMatch(new RegExp(`^linux-source-6\\.12 \\S+ \\+ ${PATCH.replace(/\./g, '\\.')} \\(x86_64\\): Linux 6\\.12\\.\\d+\\n`));
    expect(stdout).toMatch(/result: the kernels differ \(exit 1\)/);
    expect(fuzzed.length).toBeGreaterThan(0);
    for (const d of fuzzed) {
      const minimal = JSON.parse(readFileSync(join(out, d, 'minimal.json'), 'utf8')) as Minimal;
      const details = JSON.parse(readFileSync(join(out, d, 'difference.json'), 'utf8')) as Difference;
      expect(minimal.steps.length).toBeLessThanOrEqual(4);
      expect(minimal.steps.map((s) => s.op)).toContain('link_update');
      // A storage map stays, the one a program of the update needs; nothing else is declared.
      const used = minimal.programs.flatMap((p) => (typeof p === 'string' ? [] : (p.maps ?? [])));
      expect(used.length).toBeGreaterThan(0);
      expect((minimal.maps ?? []).map((m) => m.name).sort()).toEqual([...new Set(used)].sort());
      expect(minimal.maps!.some((m) => m.type.endsWith('cgroup_storage'))).toBe(true);
      for (const step of details.diff) expect(step.verdict).toMatch(/^behaviour changed: the base kernel answers as the emulator/);
      // The base kernel's EINVAL, the patched kernel's success.
      expect(details.diff.flatMap((s) => s.fields)).toContainEqual(expect.objectContaining({ path: 'errno', left: 'EINVAL' }));
      expect(readFileSync(join(out, d, 'original.json'), 'utf8')).toMatch(/"maps":/);
    }
    const failed = records(out).filter((x) => x.type === 'result' && x.outcome === 'fail');
    expect(records(out).filter((x) => x.outcome === 'error' || x.outcome === 'crash')).toEqual([]);
    for (const f of failed) expect(f.sequence, 'a sequence of corpus/cgroup differs').toMatch(/^fuzz-/);

    // corpus/maps: the link updates differ (link-update.json, replace.json), the rest does not.
    const byCorpus = mkdtempSync(join(tmpdir(), 'mprog-diff-maps-corpus-'));
    const c = await mprog('diff', '--base', 'mprog-6.12', '--kernel', image, '--fuzz', '0', '--out', byCorpus, 'corpus/maps');
    expect(c.exitCode).toBe(1);
    expect(
      readdirSync(byCorpus)
        .filter((d) => d.startsWith('difference-'))
        .sort(),
    ).toEqual(['difference-1-maps-link-update', 'difference-2-maps-replace']);
    const shrunk = JSON.parse(readFileSync(join(byCorpus, 'difference-1-maps-link-update', 'minimal.json'), 'utf8')) as Minimal;
    expect(shrunk.steps.map((s) => s.op)).toEqual(['link_create', 'link_update']);
  });
});
