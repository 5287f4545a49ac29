// The sequences a run replays: files and directories named by the user (or the shipped corpus),
// every file parsed, every bad one reported. Shared by conform, fuzz's checks and the benches.

import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Sequence } from '../../contract/seq.js';
import { repoRoot } from '../../vm/runtime/paths.js';
import { BadInput } from '../../contract/errors.js';
import { InputPathError, inputKind, walkInputDir } from '../../vm/runtime/input-files.js';
import { SeqError, parseSequenceFile } from './parse.js';

/** The shipped corpus, relative to the repository: selftest-derived and hand-written sequences. */
const DEFAULT_CORPUS = ['test/sequences', 'corpus'];

/** The file as the user should see it: relative to the working directory when below it. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel.split(sep).join('/');
}

/** The *.json files below `dir`: symlinks followed, each directory read once, a symlink loop an error. */
function jsonFilesUnder(dir: string): string[] {
  return walkInputDir(dir, (name) => name.endsWith('.json'));
}

/** Every sequence file named by `paths` (directories searched recursively); a BadInput says why not. */
function corpusFiles(paths: string[]): string[] {
  const defaults = paths.length === 0;
  const roots = defaults ? DEFAULT_CORPUS.map((p) => join(repoRoot(), p)) : paths.map((p) => resolve(p));
  const files = new Set<string>();
  for (const root of roots) {
    if (!existsSync(root)) {
      if (defaults) continue; // a checkout may lack one of the shipped directories
      throw new BadInput(`corpus ${displayPath(root)}: no such file or directory`, { file: displayPath(root) });
    }
    try {
      // A file named is checked when it is opened (parseSequenceFile); a FIFO or device is never opened.
      for (const f of inputKind(root) === 'dir' ? jsonFilesUnder(displayPath(root)) : [root]) files.add(resolve(f));
    } catch (err) {
      if (!(err instanceof InputPathError)) throw err;
      const where = resolve(err.path) === root ? null : displayPath(err.path);
      // The system's refusal as before (cannot read X (EACCES)); what mprog refuses, in its words.
      const message =
        err.code === undefined || err.code === 'ELOOP'
          ? `corpus ${displayPath(root)}: ${where === null ? '' : `${where}: `}${err.reason}`
          : `corpus ${displayPath(root)}: cannot read ${where ?? 'it'} (${err.code})`;
      throw new BadInput(message, { file: displayPath(err.path), cause: err });
    }
  }
  if (files.size === 0) throw new BadInput(`no sequence files (*.json) in ${roots.map(displayPath).join(', ')}`);
  return [...files];
}

/** All files parsed; every bad one is reported, not just the first. */
function parseAll(files: string[]): Sequence[] {
  const seqs: Sequence[] = [];
  const errors: SeqError[] = [];
  for (const file of files) {
    try {
      seqs.push(parseSequenceFile(displayPath(file)));
    } catch (err) {
      if (!(err instanceof SeqError)) throw err;
      errors.push(err);
    }
  }
  // One bad file is its SeqError (file and JSON path); several, one message of their lines.
  if (errors.length) throw errors.length === 1 ? errors[0]! : new BadInput(errors.map((e) => e.message).join('\n'), { cause: errors });
  return seqs.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** The sequences of `paths` (files, or directories searched recursively), sorted by file; a BadInput says why not. */
export function loadCorpus(paths: string[]): Sequence[] {
  return parseAll(corpusFiles(paths));
}
