// `npm run bench -- --only mutation` on two of its patches (issue 21): netkit's BPF_F_REPLACE
// type check dropped (an XDP program as replace: ENOENT, not EINVAL), which generated sequences
// reach only through the reference probes, and a neutral reordering in the same function. Each is
// built on Debian's 6.12.117 and diffed against mprog-6.12 with 200 generated sequences: the
// first must be found, shrunk to a few steps, the second must show no difference.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const MINUTE = 60_000;
const DIR = 'test/patches/mutations';

describe('the mutation bench', () => {
  it('finds the netkit replace-type patch and reports no difference for the neutral one', { timeout: 40 * MINUTE }, async () => {
    const changing = `${DIR}/netkit-replace-type-unchecked.patch`;
    const neutral = `${DIR}/neutral-netkit-entry-fetch-later.patch`;
    const r = await execa('node', ['bin/bench.js', '--only', 'mutation', '--json', '--patches', changing, '--patches', neutral], {
      reject: false,
      env: { NO_COLOR: '1' },
    });
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(r.exitCode).toBe(0);
    const keys = JSON.parse(r.stdout) as Record<string, number>;
    expect(keys, r.stderr).toMatchObject({ mutation_found: 1, mutation_total: 1, mutation_false_positives: 0, mutation_neutral: 1 });
    expect(keys['mutation_wall_s']).toBeGreaterThan(0);
    // A line per patch (stderr with --json): what was expected, what diff saw.
    const found = r.stderr.split('\n').find((l) => l.startsWith('netkit-replace-type-unchecked'))!;
    expect(found).toMatch(/expected changes, seen different, minimal (\d+) steps: found/);
    expect(Number(/minimal (\d+) steps/.exec(found)![1])).toBeLessThanOrEqual(6);
    expect(r.stderr.split('\n').find((l) => l.startsWith('neutral-netkit-entry-fetch-later'))).toMatch(/expected neutral, seen same: ok/);
    // The finding's directory is kept: its minimal sequence ends in the netkit attach with an
    // XDP program as replace, EINVAL on the base.
    const outDir = /\((\/[^)]+)\)$/.exec(found)![1]!;
    const first = readdirSync(outDir).find((d) => /^difference-\d+-fuzz-/.test(d))!;
    type Minimal = {
      programs: { name: string; type?: string }[];
      steps: { op: string; attach_type?: string; flags?: string[]; replace?: unknown }[];
    };
    const minimal = JSON.parse(readFileSync(join(outDir, first, 'minimal.json'), 'utf8')) as Minimal;
    const last = minimal.steps.at(-1)!;
    expect(last.op).toBe('prog_attach');
    expect(last.attach_type).toMatch(/^netkit_/);
    expect(last.flags).toContain('BPF_F_REPLACE');
    const details = readFileSync(join(outDir, first, 'difference.json'), 'utf8');
    expect(details).toContain('"EINVAL"');
    expect(details).toContain('"ENOENT"');
  });
});
