// The sequences a run replays: files and directories named by the user (or the shipped corpus),
// every file parsed, every bad one reported. Shared by conform, fuzz's checks and the benches.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Sequence } from '../contract/seq.js';
import { repoRoot } from '../vm/paths.js';
import { BadInput } from './errors.js';
import { SeqError, parseSequenceFile } from './seq/parse.js';

/** The shipped corpus, relative to the repository: selftest-derived and hand-written sequences. */
const DEFAULT_CORPUS = ['test/sequences', 'corpus'];

/** The file as the user should see it: relative to the working directory when below it. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel.split(sep).join('/');
}

function jsonFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(dir, f));
}

/** Every sequence file named by `paths` (directories searched recursively), or why not. */
function corpusFiles(paths: string[]): string[] | BadInput {
  const defaults = paths.length === 0;
  const roots = defaults ? DEFAULT_CORPUS.map((p) => join(repoRoot(), p)) : paths.map((p) => resolve(p));
  const files = new Set<string>();
  for (const root of roots) {
    if (!existsSync(root)) {
      if (defaults) continue; // a checkout may lack one of the shipped directories
      return new BadInput(`corpus ${displayPath(root)}: no such file or directory`);
    }
    try {
      for (const f of statSync(root).isDirectory() ? jsonFilesUnder(root) : [root]) files.add(f);
    } catch (err) {
      const { code, path } = err as NodeJS.ErrnoException;
      return new BadInput(`corpus ${displayPath(root)}: cannot read ${path ? displayPath(path) : 'it'} (${code ?? (err as Error).message})`);
    }
  }
  if (files.size === 0) return new BadInput(`no sequence files (*.json) in ${roots.map(displayPath).join(', ')}`);
  return [...files];
}

/** All files parsed; every bad one is reported, not just the first. */
function parseAll(files: string[]): Sequence[] | BadInput {
  const seqs: Sequence[] = [];
  const errors: string[] = [];
  for (const file of files) {
    try {
      seqs.push(parseSequenceFile(displayPath(file)));
    } catch (err) {
      if (!(err instanceof SeqError)) throw err;
      errors.push(err.message);
    }
  }
  return errors.length ? new BadInput(errors.join('\n')) : seqs.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** The sequences of `paths` (files, or directories searched recursively), sorted by file; or why not. */
export function loadCorpus(paths: string[]): Sequence[] | BadInput {
  const files = corpusFiles(paths);
  return files instanceof BadInput ? files : parseAll(files);
}
