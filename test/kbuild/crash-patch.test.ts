// A kernel that crashes is a finding like any other (issue 21): test/patches/mprog-detach-empty-bug.patch
// turns bpf_mprog_detach's check for an empty entry (d210f9735e13 "bpf: Fix mprog detachment for
// empty mprog entry") into a BUG(), so a detach from an entry only a clsact qdisc keeps alive
// kills the kernel under test while the base answers ENOENT. `mprog diff` must shrink the
// sequence that does it to the few steps that still crash that kernel (it boots afresh after
// each), write its reproducers and both consoles, and exit 3; `mprog fuzz` on the patched kernel
// alone the same.

import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { diffOfPatch } from '../patch-diff.js';

const MINUTE = 60_000;
/** BUG()'s oops (a tinyconfig kernel has no CONFIG_DEBUG_BUGVERBOSE: no file and line), then the panic oops=panic makes of it. */
const CRASH = /Oops: invalid opcode[^]*Kernel panic - not syncing: Fatal exception/;

interface Minimal {
  steps: { op: string }[];
}

/** The minimal sequence of a crash finding: a qdisc, a detach, and little else. */
function expectShrunk(dir: string): void {
  const minimal = JSON.parse(readFileSync(join(dir, 'minimal.json'), 'utf8')) as Minimal;
  expect(minimal.steps.length).toBeLessThanOrEqual(3);
  expect(minimal.steps.some((s) => s.op === 'qdisc_add')).toBe(true);
  expect(minimal.steps.some((s) => s.op === 'prog_detach' || s.op === 'link_detach')).toBe(true);
  expect(existsSync(join(dir, 'repro.c'))).toBe(true);
}

describe('a patch that crashes the kernel under test', () => {
  let image = '';

  it('diff: shrunk to a qdisc and a detach, reproducers and both consoles written, exit 3', { timeout: 60 * MINUTE }, async () => {
    const r = await diffOfPatch('mprog-detach-empty-bug.patch', { corpus: ['corpus/qdisc'], fuzz: 20, exit: 3 });
    image = r.image;
    expect(r.stdout).toMatch(/a kernel crashed or hung \(exit 3\)/);
    const found = readdirSync(r.out).filter((d) => d.startsWith('difference-'));
    expect(found.length).toBeGreaterThan(0);
    for (const d of found) {
      expectShrunk(join(r.out, d));
      expect(readFileSync(join(r.out, d, 'console-kernel.log'), 'utf8')).toMatch(CRASH);
      // The base kernel's console: it answered, and did not crash.
      expect(readFileSync(join(r.out, d, 'console-base.log'), 'utf8')).not.toMatch(/kernel BUG|Oops/);
    }
    const records = readFileSync(join(r.out, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; outcome?: string; sequence?: string; notes?: string[] });
    const crashes = records.filter((x) => x.outcome === 'crash');
    expect(crashes.length).toBeGreaterThan(0);
    expect(crashes.some((x) => x.notes?.some((n) => /shrunk to \d steps/.test(n)))).toBe(true);
  });

  it('fuzz on the patched kernel alone: the crashing sequence shrunk, its console written, exit 3', { timeout: 30 * MINUTE }, async () => {
    expect(image).not.toBe('');
    const out = mkdtempSync(join(tmpdir(), 'mprog-fuzz-crash-'));
    const r = await execa('node', ['bin/mprog.js', 'fuzz', '--target', `qemu:${image}:x86_64`, '--sequences', '300', '--seed', '3', '--out', out], {
      reject: false,
      env: { NO_COLOR: '1' },
    });
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toMatch(/^crash: sequence \d+ of seed 3 crashes the kernel \(panic/);
    expect(r.exitCode).toBe(3);
    const [dir] = readdirSync(out).filter((d) => d.startsWith('crash-'));
    expectShrunk(join(out, dir!));
    expect(readFileSync(join(out, dir!, 'console.log'), 'utf8')).toMatch(CRASH);
  });
});
