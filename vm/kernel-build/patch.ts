// Applying the user's patches to a laid-out kernel tree, in order, as `git apply -p1` does (all
// of a patch or nothing of it). When one does not apply, the error names the patch, the file and
// the hunk, read back from the patch itself: git only says the file and the hunk's line.

import { readInputFile } from '../runtime/input-files.js';
import { basename, dirname, join, resolve } from 'node:path';
import { breakLink } from './source.js';
import { KernelBuildError, runBuildStep } from './build-steps.js';

export interface Hunk {
  /** 1-based within its file. */
  index: number;
  oldStart: number;
  header: string;
}

/** Per file a patch touches (its name in the tree, -p1): the hunks, in order. */
export function patchFiles(text: string): Map<string, Hunk[]> {
  const files = new Map<string, Hunk[]>();
  let current: Hunk[] | null = null;
  const strip = (name: string) =>
    name
      .replace(/\t.*$/, '')
      .replace(/^"|"$/g, '')
      .replace(/^[^/]+\//, '');
  for (const line of text.split('\n')) {
    const git = /^diff --git a\/(\S+) b\/(\S+)$/.exec(line);
    if (git) {
      for (const name of [git[1]!, git[2]!]) if (!files.has(name)) files.set(name, []);
      current = files.get(git[2]!)!;
      continue;
    }
    const side = /^(---|\+\+\+) (\S+)/.exec(line);
    if (side && side[2] !== '/dev/null') {
      const name = strip(side[2]!);
      if (!files.has(name)) files.set(name, []);
      if (side[1] === '+++' || current === null) current = files.get(name)!;
      continue;
    }
    const hunk = /^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@/.exec(line);
    if (hunk && current) current.push({ index: current.length + 1, oldStart: Number(hunk[1]), header: line.replace(/^(@@[^@]*@@).*$/, '$1') });
  }
  return files;
}

/** What git apply's complaint means, with the hunk it failed on named. */
function explain(output: string, files: Map<string, Hunk[]>): string {
  const failed = /error: patch failed: (.+):(\d+)$/m.exec(output);
  if (failed) {
    const [, file, line] = failed;
    const hunk = files.get(file!)?.find((h) => h.oldStart === Number(line));
    const which = hunk ? `hunk ${hunk.index} (${hunk.header})` : `the hunk at line ${line}`;
    return `${file}: ${which} does not apply (the file's lines there differ from the patch's context)`;
  }
  const missing = /error: (.+): (No such file or directory|does not exist in index)$/m.exec(output);
  if (missing) return `${missing[1]}: the tree has no such file`;
  const exists = /error: (.+): already exists in working directory$/m.exec(output);
  if (exists) return `${exists[1]}: the patch creates it, but the tree has it already`;
  const other = output.split('\n').filter((l) => l.startsWith('error: ') || l.startsWith('fatal: '));
  return (other.length ? other : output.trim().split('\n').slice(-5)).join('\n').replace(/^(error|fatal): /gm, '');
}

/** Applies `patches` to `tree` in order (the first that does not apply stops the build); returns the files they touch. */
export async function applyPatches(what: string, tree: string, patches: readonly string[]): Promise<string[]> {
  const touched = new Set<string>();
  for (const [i, patch] of patches.entries()) {
    const name = `patch ${i + 1} of ${patches.length} (${basename(patch)})`;
    const text = readInputFile(patch, 256 * 1024 * 1024, 'a --patch file').toString('utf8'); // read once before: a regular file
    const files = patchFiles(text);
    if (files.size === 0) throw new KernelBuildError(`${what}: ${name}: not a unified diff (no ---/+++ file lines)`, { file: patch });
    // The tree's files may be hard links to the user's own: a patched file must be a copy.
    for (const f of files.keys()) {
      breakLink(join(tree, f));
      touched.add(f);
    }
    // Outside any repository (the tree may sit below one): git apply then works like patch -p1.
    const env = { GIT_CEILING_DIRECTORIES: dirname(tree) };
    await runBuildStep(what, 'git', ['apply', '-p1', '--verbose', resolve(patch)], { cwd: tree, env }).catch((err: unknown) => {
      if (!(err instanceof KernelBuildError)) throw err;
      throw new KernelBuildError(`${what}: ${name} does not apply: ${explain(err.message, files)}`, { file: patch, cause: err });
    });
  }
  return [...touched];
}
