// Validating a kernel patch (issue 14), as a user does it, on real builds and real guests:
// `mprog kernel build debian-6.12 --patch ...` and `mprog diff --base mprog-6.12 --kernel IMAGE`.
// The patches (test/patches/) change one observable rule of kernel/bpf/mprog.c (the errno of
// attaching a program twice), only a comment, or break the tree (a context that is not there,
// an undeclared name). Slow the first time: the unpatched 6.12 tree is built once (its objects
// are kept, a patch recompiles only what it touches) and each patched kernel once; later runs
// find them in the cache.

import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { kernelFault, runKernelDiff } from '../../harness/diff/run.js';
import { QemuTarget } from '../../harness/targets/qemu.js';

const MINUTE = 60_000;

const mprog = (...args: string[]) => execa('node', ['bin/mprog.js', ...args], { reject: false, env: { NO_COLOR: '1' } });

/** `mprog kernel build debian-6.12 --patch test/patches/NAME`: its result and the image (stdout's last line). */
async function buildPatched(name: string) {
  const r = await mprog('kernel', 'build', 'debian-6.12', '--patch', `test/patches/${name}`);
  return { ...r, image: r.stdout.trim().split('\n').at(-1) ?? '' };
}

interface DiffRecord {
  type: string;
  outcome?: string;
  notes?: string[];
}

/** The directories `mprog diff` wrote for its differences, with what each holds. */
function differences(out: string) {
  return readdirSync(out)
    .filter((d) => d.startsWith('difference-'))
    .map((d) => ({
      minimal: JSON.parse(readFileSync(join(out, d, 'minimal.json'), 'utf8')) as { steps: unknown[] },
      details: JSON.parse(readFileSync(join(out, d, 'difference.json'), 'utf8')) as {
        diff: { op: string; fields: { path: string; left: unknown; right: unknown }[]; reference?: { errno?: string }; verdict: string }[];
      },
      reproducer: existsSync(join(out, d, 'repro.c')),
    }));
}

describe('mprog kernel build', () => {
  it('says which patch, file and hunk does not apply, and exits 2', { timeout: 10 * MINUTE }, async () => {
    const r = await buildPatched('does-not-apply.patch');
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/patch 1 of 1 \(does-not-apply\.patch\) does not apply: kernel\/bpf\/mprog\.c: hunk 2 \(@@ -240,7 \+240,7 @@\)/);
  });

  it('builds a patched kernel, prints its image last, and finds it at once the second time', { timeout: 40 * MINUTE }, async () => {
    const first = await buildPatched('attach-exists-ebusy.patch');
    expect(first.stderr).not.toMatch(/failed/);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(/^linux-source-6\.12 \S+ \+ attach-exists-ebusy\.patch \(x86_64\): Linux 6\.12\.\d+\n/);
    expect(existsSync(first.image)).toBe(true);
    const started = Date.now();
    const again = await buildPatched('attach-exists-ebusy.patch');
    expect(again.exitCode).toBe(0);
    expect(again.image).toBe(first.image);
    expect(Date.now() - started).toBeLessThan(20_000);
    // A different patch is a different kernel.
    const comment = await buildPatched('comment-only.patch');
    expect(comment.exitCode).toBe(0);
    expect(comment.image).not.toBe(first.image);
  });

  it('shows the compiler error of a tree that does not build, and exits 2', { timeout: 40 * MINUTE }, async () => {
    const r = await buildPatched('does-not-build.patch');
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/make bzImage failed:/);
    expect(r.stderr).toMatch(/kernel\/bpf\/mprog\.c:\d+:\d+: error: .undeclared_in_mprog. undeclared/);
  });

  it('names a fragment option the tree does not have, and exits 2', { timeout: 10 * MINUTE }, async () => {
    const r = await mprog('kernel', 'build', 'debian-6.12', '--config', 'test/patches/unknown-option.config');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/CONFIG_MPROG_NO_SUCH_OPTION \(unknown-option\.config\): the tree has no such option/);
  });
});

describe('mprog diff', () => {
  it('finds the changed errno, shrinks it to at most 5 steps and says the patch changed it', { timeout: 40 * MINUTE }, async () => {
    const { image } = await buildPatched('attach-exists-ebusy.patch');
    const out = mkdtempSync(join(tmpdir(), 'mprog-diff-'));
    const r = await mprog('diff', '--base', 'mprog-6.12', '--kernel', image, '--fuzz', '20', '--seed', '1', '--out', out);
    expect(r.stderr).not.toMatch(/Error:|\n\s+at /); // no stack trace
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/result: the kernels differ \(exit 1\)/);
    const found = differences(out);
    expect(found.length).toBeGreaterThan(0);
    for (const d of found) {
      expect(d.minimal.steps.length).toBeLessThanOrEqual(5);
      expect(d.reproducer).toBe(true);
      // Every difference is the patched errno, and the emulator sides with the base kernel.
      for (const step of d.details.diff) {
        expect(step.fields).toEqual([{ path: 'errno', left: 'EEXIST', right: 'EBUSY' }]);
        expect(step.reference?.errno).toBe('EEXIST');
        expect(step.verdict).toMatch(/^behaviour changed/);
      }
    }
    const records = readFileSync(join(out, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DiffRecord);
    expect(records.filter((x) => x.type === 'result' && x.outcome === 'fail').length).toBeGreaterThanOrEqual(found.length);
    expect(records.filter((x) => x.outcome === 'error' || x.outcome === 'crash')).toEqual([]);
    // The reports as conform writes them, for the two kernels and the emulator.
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toMatch(
      /^## mprog diff: ❌ the kernels differ[\s\S]*\| \| field \| base \| kernel \| emulator \|/,
    );
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toMatch(/<testsuites name="mprog diff"[\s\S]*<failure type="divergence"/);
    expect(readFileSync(join(out, 'results.tap'), 'utf8')).toMatch(/^not ok \d+ - /m);
  });

  it('finds nothing for a patch that only changes a comment', { timeout: 40 * MINUTE }, async () => {
    const { image } = await buildPatched('comment-only.patch');
    const out = mkdtempSync(join(tmpdir(), 'mprog-diff-'));
    const r = await mprog('diff', '--base', 'mprog-6.12', '--kernel', image, '--fuzz', '50', '--seed', '1', '--out', out);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/result: no difference \(exit 0\)/);
    expect(readdirSync(out).filter((d) => d.startsWith('difference-'))).toEqual([]);
  });

  it('reports a kernel under test that panics as a crash (exit 3), its console kept', { timeout: 15 * MINUTE }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'mprog-diff-'));
    const base = new QemuTarget('qemu:mprog-6.12:x86_64');
    // Neither the initramfs's init nor the init asked for exists: "Requested init ... failed", a panic.
    const kernel = new QemuTarget('qemu:mprog-6.12:x86_64', { extraCmdline: 'rdinit=/nonexistent init=/nonexistent', bootDeadlineMs: 5 * MINUTE });
    try {
      const request = {
        base,
        kernel,
        baseName: 'mprog-6.12',
        kernelName: 'panicking',
        arch: 'x86_64',
        corpus: [],
        fuzz: 1,
        seed: 1,
        maxSteps: 5,
        outDir: out,
      };
      const err = await runKernelDiff(request).then(
        () => null,
        (e: unknown) => e,
      );
      const fault = kernelFault(out, err);
      expect(fault).toMatchObject({ side: 'kernel', status: 3, fault: { kind: 'panic' } });
      expect(readFileSync(join(out, fault!.fault.console!), 'utf8')).toMatch(/Kernel panic - not syncing/);
    } finally {
      await Promise.all([base.close(), kernel.close()]);
    }
  });
});
