// Where the project lives and where it caches downloads and build products.

import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reclaim } from './lifetime.js';
import { Unusable } from '../../contract/errors.js';

let root: string | undefined;

/** The repository root: the nearest directory above this module with a package.json (works from vm/ and dist/vm/); found once. */
export function repoRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Unusable(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  root = dir;
  return dir;
}

/**
 * The cache root: $MPROG_CACHE; in a git checkout, .cache in it (gitignored: the developer's and
 * CI's, which the workflows save and restore); in an installed package, the user's cache
 * directory ($XDG_CACHE_HOME/mprog, else ~/.cache/mprog), so that nothing is written into the
 * package (a root-owned install, `npm uninstall`).
 */
export function cacheRoot(): string {
  const env = process.env['MPROG_CACHE'];
  if (env) return resolve(env);
  const repo = repoRoot();
  if (existsSync(join(repo, '.git'))) return join(repo, '.cache');
  const xdg = process.env['XDG_CACHE_HOME'];
  // The XDG base directory spec: a relative XDG_CACHE_HOME is invalid and ignored.
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'mprog');
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

/** The names others give the architectures: Debian's (amd64), the kernel's and GNU's (aarch64), node's (x64). */
const ARCH_ALIASES: Readonly<Record<string, Arch>> = { x86_64: 'x86_64', amd64: 'x86_64', x64: 'x86_64', arm64: 'arm64', aarch64: 'arm64' };

/** The architecture `name` means (`aarch64` is arm64), or undefined. */
export function archNamed(name: string): Arch | undefined {
  return Object.hasOwn(ARCH_ALIASES, name) ? ARCH_ALIASES[name] : undefined;
}

/** How the command line may name the architectures, for messages. */
export const ARCH_NAMES = 'x86_64 (amd64, x64), arm64 (aarch64)';

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
