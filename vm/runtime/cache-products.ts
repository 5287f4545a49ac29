// What .cache holds is checked before use, not trusted because it exists: a kill or a full disk
// leaves truncated files under their final names, and anything can stand where a file should be
// (a directory, a link). Every user of the cache goes through here: a product records the SHA-256
// of its files when it is made; one that no longer matches, or that is not a regular file where a
// file should be, is said to be damaged, once, removed whatever it is (a directory with all in it),
// and made again.

import { notice } from './notices.js';
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publishDir, scratchFor } from './paths.js';

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of a file, read in chunks (state files are ~100 MB). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Why `path` cannot be used as a cached file — "is missing", "is a directory where a file should
 * be", … — or null when it is a regular file. Links count as damage: the cache never makes them
 * where a product's file is.
 */
export function notAFile(path: string): string | null {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'is missing' : `cannot be examined (${code ?? String(err)})`;
  }
  if (st.isFile()) return null;
  if (st.isDirectory()) return 'is a directory where a file should be';
  if (st.isSymbolicLink()) return 'is a symbolic link where a file should be';
  return 'is not a regular file';
}

/** Whether anything at all stands at `path` (a dangling link too). */
function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

const told = new Set<string>();

/** Says once per path that a cached product is damaged and is being made again. */
export function tellDamaged(path: string, why: string): void {
  if (told.has(path)) return;
  told.add(path);
  notice(`cache: ${path}: ${why}; making it again`);
}

/** Says once that `path` is damaged and removes it, whatever it is (a directory with all in it). */
export function discard(path: string, why: string): void {
  tellDamaged(path, why);
  rmSync(path, { recursive: true, force: true });
}

/**
 * The bytes of the cached file `path`, or null when there is none to use. What stands there and is
 * not a regular file, or whose bytes `check` rejects (it returns why), is discarded (said once):
 * the caller makes it again.
 */
export function readCachedFile(path: string, check?: (data: Buffer) => string | null): Buffer | null {
  if (!present(path)) return null;
  const wrong = notAFile(path);
  if (wrong) {
    discard(path, wrong);
    return null;
  }
  const data = readFileSync(path);
  const bad = check?.(data) ?? null;
  if (bad) {
    discard(path, bad);
    return null;
  }
  return data;
}

/** A cached JSON file read by readCachedFile: null when absent or damaged (said, removed). */
export function readCachedJson<T>(path: string, check: (value: unknown) => string | null = () => null): T | null {
  let value: unknown;
  const data = readCachedFile(path, (bytes) => {
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      return 'is not valid JSON';
    }
    return check(value);
  });
  return data === null ? null : (value as T);
}

/** SHA-256 of each of `files` (relative to `dir`), for a product's manifest. */
export function hashFiles(dir: string, files: readonly string[]): Record<string, string> {
  return Object.fromEntries(files.map((f) => [f, sha256(readFileSync(join(dir, f)))]));
}

/** Why the files of `dir` no longer match `hashes`, or null when they all do. */
export function mismatch(dir: string, hashes: Record<string, string> | undefined): string | null {
  if (hashes === undefined || typeof hashes !== 'object' || Object.keys(hashes).length === 0) return 'no checksums recorded';
  for (const [file, hash] of Object.entries(hashes)) {
    const wrong = notAFile(join(dir, file));
    if (wrong) return `${file} ${wrong}`;
    if (sha256(readFileSync(join(dir, file))) !== hash) return `${file} does not match its checksum`;
  }
  return null;
}

/**
 * A product directory of the cache: `dir` with its JSON manifest `name`, which records the
 * SHA-256 of the product's files (`sha256`). Made by `make` in a scratch directory (it returns the
 * manifest and the files to record) and renamed into place whole; made again when it no longer
 * matches, or when what stands at `dir` or at any of its files is not what should be there.
 */
export async function cachedDir<T extends object>(
  dir: string,
  name: string,
  make: (scratch: string) => Promise<{ manifest: T; files: string[] }>,
): Promise<T & { sha256: Record<string, string> }> {
  const file = join(dir, name);
  if (present(dir)) {
    const manifestWrong = notAFile(file);
    let bad = !lstatSync(dir).isDirectory()
      ? 'is not a directory'
      : manifestWrong === 'is missing'
        ? `no ${name}`
        : manifestWrong && `${name} ${manifestWrong}`;
    let saved: (T & { sha256: Record<string, string> }) | null = null;
    if (!bad) {
      try {
        saved = JSON.parse(readFileSync(file, 'utf8')) as T & { sha256: Record<string, string> };
        bad = typeof saved === 'object' && saved !== null ? mismatch(dir, saved.sha256) : `${name} is not a JSON object`;
      } catch {
        bad = `${name} is not valid JSON`;
      }
    }
    if (saved && !bad) return saved;
    // A directory made before manifests were would also keep the new one from being renamed into place.
    discard(dir, bad ?? `${name} is not usable`);
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
