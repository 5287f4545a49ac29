// The caller-privileges dimension's own kernel patch (issue 21): ae23bc81ddf7 reverted on
// 6.12.117 ("bpf: Fix tcx/netkit detach permissions when prog fd isn't given", CVE-2026-45932),
// so a tcx BPF_PROG_DETACH without a program fd detaches the last program for any caller again.
// A root caller cannot see it; `mprog diff --fuzz 200` must find it through the generator's
// callers (a step's caps without CAP_NET_ADMIN or CAP_SYS_ADMIN) and shrink it to that detach.

import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { diffOfPatch } from '../patch-diff.js';

const MINUTE = 60_000;

const mprog = (...args: string[]) => execa('node', ['bin/mprog.js', ...args], { reject: false, env: { NO_COLOR: '1' } });

type Minimal = { caps?: string[]; steps: { op: string; prog?: string; caps?: string[] }[] };

/** The capabilities of the caller of `step`: its own, else the sequence's (null: root). */
const callerOf = (seq: Minimal, step: Minimal['steps'][number]) => step.caps ?? seq.caps ?? null;

describe('mprog diff on a patch only a caller without CAP_NET_ADMIN sees', () => {
  it('finds the detach without a program fd let through again by fuzzing, shrunk to that detach with a caller of its own', {
    timeout: 60 * MINUTE,
  }, async () => {
    // Fuzzing only (the one corpus file is the same on both): a finding the corpus made first would be named, not shrunk again.
    const { image, out, fuzzed: found } = await diffOfPatch('tcx-detach-no-fd-unchecked.patch', { corpus: ['corpus/tcx/revision.json'] });
    type Details = { diff: { verdict: string; fields: { path: string; left: unknown }[] }[] };
    const details = (d: string) => JSON.parse(readFileSync(join(out, d, 'difference.json'), 'utf8')) as Details;
    // The patch's findings; a fuzzed sequence that names raw ids may also differ by the kernels'
    // worlds (README "Validate a patch"), a verdict of its own, not the patch's.
    const fuzzed = found.filter((d) => details(d).diff.some((s) => s.verdict.startsWith('behaviour changed')));
    expect(fuzzed.length).toBeGreaterThan(0);
    for (const d of fuzzed) {
      const minimal = JSON.parse(readFileSync(join(out, d, 'minimal.json'), 'utf8')) as Minimal;
      expect(minimal.steps.length).toBeLessThanOrEqual(4);
      const detach = minimal.steps.at(-1)!;
      expect(detach.op).toBe('prog_detach');
      expect(detach.prog).toBeUndefined();
      const caps = callerOf(minimal, detach);
      expect(caps).not.toBeNull();
      expect(caps).not.toContain('CAP_NET_ADMIN');
      expect(caps).not.toContain('CAP_SYS_ADMIN');
      expect(details(d).diff.flatMap((s) => s.fields)).toContainEqual(expect.objectContaining({ path: 'errno', left: 'EPERM' }));
    }
    // The corpus shows it too: corpus/caps/detach-no-fd.json.
    const byCorpus = mkdtempSync(join(tmpdir(), 'mprog-diff-caps-corpus-'));
    const c = await mprog('diff', '--base', 'mprog-6.12', '--kernel', image, '--out', byCorpus, 'corpus/caps/detach-no-fd.json');
    expect(c.exitCode).toBe(1);
    expect(readdirSync(byCorpus)).toContain('difference-1-caps-detach-no-fd');
    const shrunk = JSON.parse(readFileSync(join(byCorpus, 'difference-1-caps-detach-no-fd', 'minimal.json'), 'utf8')) as Minimal;
    expect(shrunk.steps).toEqual([{ op: 'prog_detach', dev: 'v0', attach_type: 'tcx_ingress', caps: ['CAP_BPF'] }]);
  });
});
