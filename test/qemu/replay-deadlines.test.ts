// `mprog replay` on a real guest (debian-6.12 x86_64 under QEMU): the deadline a long sequence
// scales to, and one set too short (the output form and exit statuses: test/unit/replay-cli.test.ts).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ACCEL_NOTICE, besidesProgress } from '../stderr.js';

const replay = (...args: string[]) => execa('node', ['bin/mprog.js', 'replay', ...args], { reject: false });

describe('mprog replay deadlines on a real guest (debian-6.12 x86_64 under QEMU)', () => {
  const MINUTE = 60_000;
  /** One attach and 2,500 queries: valid, and minutes of bpftool under TCG. */
  function longSequence(): string {
    const dir = mkdtempSync(join(tmpdir(), 'mprog-replay-'));
    const file = join(dir, 'long.json');
    const query = { op: 'query', dev: 'v0', attach_type: 'tcx_ingress', expect: { query: { count: 1 } } };
    writeFileSync(
      file,
      JSON.stringify({
        format: 'mprog-seq/1',
        name: 'long',
        devices: ['v0'],
        programs: ['a'],
        steps: [
          { op: 'prog_attach', prog: 'a', dev: 'v0', attach_type: 'tcx_ingress', expect: { ok: true } },
          ...Array.from({ length: 2500 }, () => query),
        ],
      }),
    );
    return file;
  }

  it('replays 1 attach + 2,500 queries within the deadline it scales to, and exits 0', { timeout: 20 * MINUTE }, async () => {
    const r = await replay('--target', 'qemu:debian-6.12:x86_64', longSequence());
    expect(besidesProgress(r.stderr)).toBe('');
    // How the guest runs, and why, said once.
    expect(r.stderr.split('\n').filter((l) => ACCEL_NOTICE.test(l))).toEqual([
      expect.stringMatching(/x86_64 guests: (TCG|KVM) \((MPROG_ACCEL|.*probe boot|\/dev\/kvm cannot be opened)/),
    ]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/long\.json: qemu:debian-6\.12:x86_64 \(6\.12\.[^)]*\): 2501 steps/);
  });

  /** 50,000 attach/detach pairs: about 5 s of the guest under TCG (measured: 20,000 steps in about
   * 1 s), ten times the deadline below. */
  function churnSequence(): string {
    const file = join(mkdtempSync(join(tmpdir(), 'mprog-replay-')), 'churn.json');
    const pair = [
      { op: 'prog_attach', prog: 'a', dev: 'v0', attach_type: 'tcx_ingress' },
      { op: 'prog_detach', prog: 'a', dev: 'v0', attach_type: 'tcx_ingress' },
    ];
    const steps = Array.from({ length: 50_000 }, () => pair).flat();
    writeFileSync(file, JSON.stringify({ format: 'mprog-seq/1', name: 'churn', devices: ['v0'], programs: ['a'], steps }));
    return file;
  }

  it('a deadline set too short for a working guest: timeout, exit 2, with the console and a hint', { timeout: 10 * MINUTE }, async () => {
    const r = await replay('--target', 'qemu:debian-6.12:x86_64', '--deadline', '500,0,0', churnSequence());
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/deadline 500 ms\); the guest is still working .*give it more time with --deadline/);
    expect(r.stderr).toContain('--- console (tail) ---');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
