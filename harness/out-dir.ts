// An --out directory: made (or why not) and held by one run at a time. Shared by conform, merge
// and fuzz.

import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { atExit, pidAlive } from '../vm/lifetime.js';
import { BadInput } from './errors.js';

/**
 * mkdir -p, one level at a time: node's recursive mkdirSync spins forever where a directory
 * cannot be made for want of its parent's support (ENOENT under /proc).
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) missing.unshift(d);
  for (const d of missing) mkdirSync(d);
}

/** Makes the output directory, or says why it cannot be written. */
export function prepareOutDir(dir: string): BadInput | null {
  try {
    makeDirs(dir);
    accessSync(dir, constants.W_OK);
    return null;
  } catch (err) {
    return new BadInput(`--out ${dir}: cannot write there (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

const LOCK_FILE = '.lock';
/** Output directories this process holds, each released at exit. */
const held = new Set<string>();

/**
 * Makes `dir` this process's until it exits, or says who has it: two runs appending to one
 * results.jsonl would interleave their records. A lock whose owner is gone (killed) is taken over.
 */
export function lockOutDir(dir: string): BadInput | null {
  const file = resolve(dir, LOCK_FILE);
  if (held.has(file)) return null;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      held.add(file);
      atExit(() => rmSync(file, { force: true }));
      return null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return new BadInput(`--out ${dir}: cannot lock it (${(err as NodeJS.ErrnoException).code})`);
    }
    const owner = Number(readFileSync(file, 'utf8').trim());
    if (owner > 0 && pidAlive(owner)) {
      return new BadInput(`--out ${dir}: another mprog conform or merge (pid ${owner}) is writing there; wait for it to end, or use another --out`);
    }
    rmSync(file, { force: true });
  }
  return new BadInput(`--out ${dir}: cannot lock it (${LOCK_FILE} keeps coming back)`);
}
