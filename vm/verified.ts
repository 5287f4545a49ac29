// What .cache holds is checked before use, not trusted because it exists: a kill or a full disk
// leaves truncated files under their final names. Products record the SHA-256 of their files when
// they are made; a product that no longer matches is said to be damaged, once, and made again.

import { notice } from './notices.js';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publishDir, scratchFor } from './paths.js';

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of each of `files` (relative to `dir`), for a product's manifest. */
export function hashFiles(dir: string, files: readonly string[]): Record<string, string> {
  return Object.fromEntries(files.map((f) => [f, sha256(readFileSync(join(dir, f)))]));
}

/** Why the files of `dir` no longer match `hashes`, or null when they all do. */
export function mismatch(dir: string, hashes: Record<string, string> | undefined): string | null {
  if (hashes === undefined || Object.keys(hashes).length === 0) return 'no checksums recorded';
  for (const [file, hash] of Object.entries(hashes)) {
    const path = join(dir, file);
    if (!existsSync(path)) return `${file} is missing`;
    if (sha256(readFileSync(path)) !== hash) return `${file} does not match its checksum`;
  }
  return null;
}

const told = new Set<string>();

/** Says once per path that a cached product is damaged and is being made again. */
export function tellDamaged(path: string, why: string): void {
  if (told.has(path)) return;
  told.add(path);
  notice(`cache: ${path}: ${why}; making it again`);
}

/**
 * A product directory of the cache: `dir` with its JSON manifest `name`, which records the
 * SHA-256 of the product's files (`sha256`). Made by `make` in a scratch directory (it returns the
 * manifest and the files to record) and renamed into place whole; made again when it no longer
 * matches.
 */
export async function cachedDir<T extends object>(
  dir: string,
  name: string,
  make: (scratch: string) => Promise<{ manifest: T; files: string[] }>,
): Promise<T & { sha256: Record<string, string> }> {
  const file = join(dir, name);
  if (existsSync(file)) {
    let saved: (T & { sha256: Record<string, string> }) | null = null;
    try {
      saved = JSON.parse(readFileSync(file, 'utf8')) as T & { sha256: Record<string, string> };
    } catch {
      tellDamaged(dir, `${name} is not valid JSON`);
    }
    const bad = saved && mismatch(dir, saved.sha256);
    if (saved && !bad) return saved;
    if (bad) tellDamaged(dir, bad);
    rmSync(dir, { recursive: true, force: true });
  } else if (existsSync(dir)) {
    // Made before manifests were: it would keep the new one from being renamed into place.
    tellDamaged(dir, `no ${name}`);
    rmSync(dir, { recursive: true, force: true });
  }
  const scratch = scratchFor(dir);
  try {
    const { manifest, files } = await make(scratch);
    const saved = { ...manifest, sha256: hashFiles(scratch, files) };
    writeFileSync(join(scratch, name), `${JSON.stringify(saved, null, 2)}\n`);
    publishDir(scratch, dir);
    return saved;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
