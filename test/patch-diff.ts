// What the kbuild tests of a dimension's own kernel patch share: debian-6.12 built with the patch
// (`mprog kernel build --patch`, on the cached objects of the unpatched tree), then `mprog diff
// --base mprog-6.12 --kernel <it> --fuzz N --seed 1`, each step checked as it goes.

import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';

const mprog = (...args: string[]) => execa('node', ['bin/mprog.js', ...args], { reject: false, env: { NO_COLOR: '1' } });

export interface PatchDiff {
  /** The build's stdout: its description line, then the image's path. */
  build: string;
  /** The patched kernel's image. */
  image: string;
  /** diff's stdout. */
  stdout: string;
  /** diff's --out directory. */
  out: string;
  /** Its difference-N-fuzz-* directories: what the generator found. */
  fuzzed: string[];
}

export interface PatchDiffOptions {
  /** The corpus (default: the shipped one). */
  corpus?: string[];
  /** Generated sequences (default 200). */
  fuzz?: number;
  /** diff's exit status (default 1: the kernels differ). */
  exit?: number;
}

/** Builds with test/patches/`patch` and diffs it against mprog-6.12; expects `exit`. */
export async function diffOfPatch(patch: string, { corpus = [], fuzz = 200, exit = 1 }: PatchDiffOptions = {}): Promise<PatchDiff> {
  const build = await mprog('kernel', 'build', 'debian-6.12', '--patch', `test/patches/${patch}`);
  expect(build.stderr).not.toMatch(/failed/);
  expect(build.exitCode).toBe(0);
  const image = build.stdout.trim().split('\n').at(-1)!;
  const out = mkdtempSync(join(tmpdir(), `mprog-diff-${patch.replace(/\.patch$/, '')}-`));
  const r = await mprog('diff', '--base', 'mprog-6.12', '--kernel', image, '--fuzz', String(fuzz), '--seed', '1', '--out', out, ...corpus);
  expect(r.stderr).not.toMatch(/Error:|\n\s+at /);
  expect(r.exitCode).toBe(exit);
  return { build: build.stdout, image, stdout: r.stdout, out, fuzzed: readdirSync(out).filter((d) => /^difference-\d+-fuzz-/.test(d)) };
}
