// `npm run bench -- --only mutation`: how well `mprog diff --fuzz` finds single-rule mistakes in
// the kernel (issue 21). Each patch (test/patches/mutations/ by default) is built on Debian's
// 6.12 source (`mprog kernel build debian-6.12 --patch`) and diffed against the unpatched
// mprog-6.12 by diff's engine with 200 generated sequences and no corpus: what is measured is the
// generator (the corpus finds what it was written for).
// A patch whose header says it changes behaviour is found or missed; a neutral one that shows a
// difference is a false positive. A crash of the patched kernel counts as found only when diff
// reports it as a finding (a generated sequence's result), not when the kernel cannot boot.

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { execa } from 'execa';
import { BadInput } from '../../contract/errors.js';
import { repoRoot } from '../../vm/runtime/paths.js';
import { kernelFault, runKernelDiff } from '../diff/run.js';
import { openTarget } from '../targets/open.js';

/** Where the shipped mutations are; the base kernel; the generator's seed, sequence count and
 * length every patch gets (diff's defaults). */
export const MUTATIONS_DIR = 'test/patches/mutations';
const BASE = 'mprog-6.12';
export const MUTATION_SEED = 1;
const FUZZ = 200;
const MAX_STEPS = 20;

/** `Mutation (changes behaviour): RULE` or `Mutation (neutral): WHAT`, the patch's first line. */
const HEADER = /^Mutation \((changes behaviour|neutral)\): (.+)$/m;

export interface Mutation {
  file: string;
  name: string;
  /** Whether the patch should change what the API answers; a patch without a header is taken as a mistake. */
  changes: boolean;
  rule: string;
}

export interface MutationOutcome {
  mutation: Mutation;
  /** What diff saw: a generated sequence that differs (or crashed the patched kernel), only
   * differences of the kernels' worlds (neither found nor a false positive), none, or no run. */
  seen: 'different' | 'worlds differ' | 'same' | 'build failed' | 'diff failed';
  /** Steps of the first generated finding's minimal sequence. */
  minimalSteps: number | null;
  seconds: number;
  /** The diff's exit status (null: a kernel could not come up) and its output directory (kept unless it saw no difference). */
  exit: number | null;
  outDir: string | null;
}

/** The patches named by `paths` (files, or directories of *.patch), sorted by name. */
export function loadMutations(paths: string[]): Mutation[] {
  const files = paths.flatMap((p) => {
    const abs = resolve(p);
    if (!statSync(abs, { throwIfNoEntry: false })) throw new BadInput(`mutations ${p}: no such file or directory`);
    if (!statSync(abs).isDirectory()) return [abs];
    return readdirSync(abs)
      .filter((f) => f.endsWith('.patch'))
      .map((f) => join(abs, f));
  });
  if (files.length === 0) throw new BadInput(`no patches (*.patch) in ${paths.join(', ')}`);
  return files
    .map((file) => {
      const header = HEADER.exec(readFileSync(file, 'utf8').split('\n--- ')[0]!);
      return { file, name: basename(file, '.patch'), changes: header?.[1] !== 'neutral', rule: header?.[2] ?? '(no header)' };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Whether diff's results.jsonl has a sequence on which the patched kernel (not the base) crashed. */
function patchedKernelCrashed(outDir: string): boolean {
  const file = join(outDir, 'results.jsonl');
  if (!existsSync(file)) return false;
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .some((l) => {
      const r = JSON.parse(l) as { type?: string; outcome?: string; fault?: { message?: string } };
      return r.type === 'result' && r.outcome === 'crash' && (r.fault?.message ?? '').startsWith('kernel ');
    });
}

/** Whether a difference's every step is one the emulator puts down to the kernels' worlds (a raw
 * number that is one kernel's id, README "Validate a patch"): not the patch's doing. */
function worldsOnly(dir: string): boolean {
  const file = join(dir, 'difference.json');
  if (!existsSync(file)) return false;
  const { diff } = JSON.parse(readFileSync(file, 'utf8')) as { diff: { verdict?: string }[] };
  return diff.length > 0 && diff.every((d) => (d.verdict ?? '').startsWith("the kernels' worlds differ"));
}

/** `mprog diff`'s engine on the base and the patched kernel with `seed`'s generated sequences and
 * no corpus (a corpus sequence's difference would be named, not shrunk, when a generated one
 * showed it again): the report's exit status, or null when a kernel could not come up. */
async function diffGenerated(image: string, seed: number, outDir: string): Promise<number | null> {
  const targets = await Promise.all([BASE, image].map((k) => openTarget(`qemu:${k}:x86_64`)));
  try {
    const req = { baseName: BASE, kernelName: image, arch: 'x86_64', corpus: [], fuzz: FUZZ, seed, maxSteps: MAX_STEPS, outDir };
    return (await runKernelDiff({ base: targets[0]!, kernel: targets[1]!, ...req })).report.status;
  } catch (err) {
    if (kernelFault(outDir, err)) return null;
    throw err;
  } finally {
    await Promise.all(targets.map((t) => t.close().catch(() => undefined)));
  }
}

/** One patch: built, then diffed against mprog-6.12 with `seed`'s generated sequences. */
export async function runMutation(m: Mutation, seed: number): Promise<MutationOutcome> {
  const start = performance.now();
  const done = (o: Omit<MutationOutcome, 'mutation' | 'seconds'>): MutationOutcome => ({
    mutation: m,
    ...o,
    seconds: (performance.now() - start) / 1000,
  });
  const build = await execa('node', [join(repoRoot(), 'bin/mprog.js'), 'kernel', 'build', 'debian-6.12', '--patch', m.file], {
    cwd: repoRoot(),
    reject: false,
    env: { NO_COLOR: '1' },
  });
  if (build.exitCode !== 0) return done({ seen: 'build failed', minimalSteps: null, exit: build.exitCode ?? null, outDir: null });
  const image = build.stdout.trim().split('\n').at(-1)!;
  const outDir = mkdtempSync(join(tmpdir(), `mprog-mutation-${m.name}-`));
  const status = await diffGenerated(image, seed, outDir);
  const differences = readdirSync(outDir)
    .filter((d) => /^difference-\d+-/.test(d))
    .sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1]));
  const findings = differences.filter((d) => !worldsOnly(join(outDir, d)));
  const seen: MutationOutcome['seen'] =
    (status === 1 && findings.length > 0) || (status === 3 && patchedKernelCrashed(outDir))
      ? 'different'
      : status === 1 && differences.length > 0
        ? 'worlds differ'
        : status === 0
          ? 'same'
          : 'diff failed';
  const minimal = findings[0] ? join(outDir, findings[0], 'minimal.json') : null;
  const minimalSteps = minimal && existsSync(minimal) ? (JSON.parse(readFileSync(minimal, 'utf8')) as { steps: unknown[] }).steps.length : null;
  // Kept where there is something to look at: a difference, or a diff that failed.
  const kept = seen !== 'same';
  if (!kept) rmSync(outDir, { recursive: true, force: true });
  return done({ seen, minimalSteps, exit: status, outDir: kept ? outDir : null });
}

export interface MutationScore {
  found: number;
  total: number;
  falsePositives: number;
  neutral: number;
  seconds: number;
}

export function score(outcomes: readonly MutationOutcome[]): MutationScore {
  const changing = outcomes.filter((o) => o.mutation.changes);
  const neutral = outcomes.filter((o) => !o.mutation.changes);
  return {
    found: changing.filter((o) => o.seen === 'different').length,
    total: changing.length,
    falsePositives: neutral.filter((o) => o.seen === 'different').length,
    neutral: neutral.length,
    seconds: outcomes.reduce((s, o) => s + o.seconds, 0),
  };
}

/** A line for people: patch, expected, seen, the minimal sequence's steps, wall time. */
export function outcomeLine(o: MutationOutcome): string {
  const expected = o.mutation.changes ? 'changes' : 'neutral';
  const verdict = o.mutation.changes
    ? o.seen === 'different'
      ? 'found'
      : 'MISSED'
    : o.seen === 'different'
      ? 'FALSE POSITIVE'
      : o.seen === 'same' || o.seen === 'worlds differ'
        ? 'ok'
        : 'NOT RUN';
  const steps = o.minimalSteps === null ? '' : `, minimal ${o.minimalSteps} steps`;
  const where = o.outDir ? ` (${o.outDir})` : '';
  return `${o.mutation.name.padEnd(48)} expected ${expected}, seen ${o.seen}${steps}: ${verdict}, ${o.seconds.toFixed(0)} s${where}`;
}
