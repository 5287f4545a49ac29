// Paths the user gives mprog (sequence files, corpus directories, output directories to merge or
// resume, kernel patches and config fragments), opened so that none can hang or exhaust it: only
// a regular file or a directory is ever opened (a FIFO would block in open(2), a device or /proc
// file never end), a file is opened non-blocking and checked again on its descriptor, its size is
// bounded before a byte is read, and a directory walk reads each directory once (a symlink cycle
// would go round forever). What is refused is an InputPathError: the path, and why, in words.

import { closeSync, constants, fstatSync, openSync, readSync, readdirSync, realpathSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { BadInput } from '../../contract/errors.js';

/** What a sequence file may hold: far more than any sequence needs (the largest shipped is ~60 KiB). */
export const MAX_SEQUENCE_BYTES = 64 * 1024 * 1024;

/** `n` bytes in the unit a person reads: "64 MiB". */
export function byteSize(n: number): string {
  for (const [unit, size] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n} bytes`;
}

/** A user-given path mprog will not read, and why: `reason` is a few words, without the path. */
export class InputPathError extends BadInput {
  override name = 'InputPathError';
  constructor(
    readonly path: string,
    readonly reason: string,
    /** The errno code, when the system refused (ENOENT, EACCES, ...). */
    readonly code?: string,
  ) {
    super(`${path}: ${reason}`, { file: path });
  }
}

/** What a file that is neither a regular file nor a directory is, for the message. */
function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function systemError(path: string, err: unknown): InputPathError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === undefined) throw err; // not the system's answer: a bug
  return new InputPathError(path, code, code);
}

/** stat(2) of `path` (symlinks followed); an InputPathError for what the system refuses. */
function statPath(path: string): Stats {
  try {
    return statSync(path);
  } catch (err) {
    throw systemError(path, err);
  }
}

/** `path` is a regular file or a directory (after symlinks), which; else an InputPathError. */
export function inputKind(path: string): 'file' | 'dir' {
  const st = statPath(path);
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  throw new InputPathError(path, `${kindOf(st)}, not a regular file or directory`);
}

/**
 * The bytes of the regular file `path`, at most `maxBytes` (`what` names them in the error: "a
 * sequence file"). Checked by stat before opening, opened O_NONBLOCK (a FIFO swapped in meanwhile
 * cannot block), checked again by fstat, and read no further than the bound even if it grows.
 */
export function readInputFile(path: string, maxBytes: number, what = 'the file'): Buffer {
  const before = statPath(path);
  if (before.isDirectory()) throw new InputPathError(path, 'a directory, not a regular file', 'EISDIR');
  if (!before.isFile()) throw new InputPathError(path, `${kindOf(before)}, not a regular file`);
  if (before.size > maxBytes) throw tooLarge(path, before.size, maxBytes, what);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw systemError(path, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputPathError(path, `${kindOf(st)}, not a regular file`);
    if (st.size > maxBytes) throw tooLarge(path, st.size, maxBytes, what);
    // Read to EOF, never past one byte over the bound (a file may grow, or say size 0 as /proc's do).
    let buf = Buffer.alloc(Math.min(maxBytes + 1, Math.max(st.size + 1, 64 * 1024)));
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        if (length > maxBytes) throw tooLarge(path, null, maxBytes, what);
        const bigger = Buffer.alloc(Math.min(maxBytes + 1, buf.length * 2));
        buf.copy(bigger);
        buf = bigger;
      }
      let n: number;
      try {
        n = readSync(fd, buf, length, buf.length - length, null);
      } catch (err) {
        throw systemError(path, err);
      }
      if (n === 0) return buf.subarray(0, length);
      length += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** `size` null: found while reading (a file that grew, or one without a size, like /dev/zero's). */
function tooLarge(path: string, size: number | null, maxBytes: number, what: string): InputPathError {
  return new InputPathError(path, `${size === null ? '' : `${size} bytes: `}larger than ${what} may be (at most ${byteSize(maxBytes)})`, 'EFBIG');
}

/**
 * Every file below the directory `root` whose name `accept`s, sorted: symlinks followed, each
 * directory read once (by device and inode), so a directory reached again through a symlink adds
 * nothing and a symlink back to a directory above it is an InputPathError (a loop), not a walk
 * without end. Entries that are neither files nor directories are left out here; whoever opens
 * an accepted one checks it (readInputFile).
 */
export function walkInputDir(root: string, accept: (name: string) => boolean): string[] {
  const files: string[] = [];
  const seen = new Set<string>();
  const key = (st: Stats) => `${st.dev}:${st.ino}`;
  const walk = (dir: string, st: Stats, above: Map<string, string>): void => {
    seen.add(key(st));
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (err) {
      throw systemError(dir, err);
    }
    const inside = new Map(above).set(key(st), dir);
    for (const name of names) {
      const path = join(dir, name);
      let entry: Stats;
      try {
        entry = statSync(path);
      } catch (err) {
        // A dangling symlink: what it would have been is unknown; a name we want is reported when opened.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ELOOP') {
          if (accept(name)) files.push(path);
          continue;
        }
        throw systemError(path, err);
      }
      if (entry.isDirectory()) {
        const ancestor = inside.get(key(entry));
        if (ancestor !== undefined) throw new InputPathError(path, `a symlink loop: it leads back to ${ancestor}`, 'ELOOP');
        if (!seen.has(key(entry))) walk(path, entry, inside);
      } else if (accept(name)) files.push(path);
    }
  };
  const st = statPath(root);
  if (!st.isDirectory()) throw new InputPathError(root, 'not a directory', 'ENOTDIR');
  walk(root, st, new Map());
  return files;
}

/** The real path of `path` (symlinks resolved), or null if it has none. */
export function realPath(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}
