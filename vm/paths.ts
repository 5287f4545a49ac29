// Where the project lives and where it caches downloads and build products.

import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reclaim } from './lifetime.js';

/** The repository root: the nearest directory above this module with a package.json (works from vm/ and dist/vm/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`mprog: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

/** The cache root: $MPROG_CACHE, or .cache in the repository (gitignored). */
export function cacheRoot(): string {
  const env = process.env['MPROG_CACHE'];
  return env ? resolve(env) : join(repoRoot(), '.cache');
}

export type Arch = 'x86_64' | 'arm64';
export const ARCHES: readonly Arch[] = ['x86_64', 'arm64'];

/** Debian's name of an architecture. */
export function debArch(arch: Arch): 'amd64' | 'arm64' {
  return arch === 'x86_64' ? 'amd64' : 'arm64';
}

/** This machine's architecture in the project's naming, or null when the project has no agent build for it. */
export function hostArch(): Arch | null {
  return process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'arm64' : null;
}

export function isArch(s: string): s is Arch {
  return (ARCHES as readonly string[]).includes(s);
}

/**
 * A fresh scratch path next to `dir`, private to this call (concurrent preparations must not
 * share one). Scratch paths of `dir` whose process is gone (killed mid-build) are removed first.
 */
export function scratchFor(dir: string): string {
  reclaim(dirname(dir), new RegExp(`^${basename(dir).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.tmp-(\\d+)-`));
  return `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Moves a finished scratch directory to `dir`; when another process got there first, keeps theirs. */
export function publishDir(scratch: string, dir: string): void {
  try {
    renameSync(scratch, dir);
  } catch (err) {
    if (!existsSync(dir)) throw err;
    rmSync(scratch, { recursive: true, force: true });
  }
}
