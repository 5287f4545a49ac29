// An --out directory: made (or why not) and held by one run at a time. Shared by conform, merge
// and fuzz.

import { spawnSync } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { atExit, processStartTime } from '../../vm/runtime/lifetime.js';
import { BadInput } from '../../contract/errors.js';

/**
 * mkdir -p, one level at a time: node's recursive mkdirSync spins forever where a directory
 * cannot be made for want of its parent's support (ENOENT under /proc).
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) missing.unshift(d);
  for (const d of missing) mkdirSync(d);
}

/** Makes the output directory; a BadInput says why it cannot be written. */
export function prepareOutDir(dir: string): void {
  try {
    makeDirs(dir);
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new BadInput(`--out ${dir}: cannot write there (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      file: dir,
      cause: err,
    });
  }
}

const LOCK_FILE = '.lock';
/** Output directories this process holds, each released at exit. */
const held = new Set<string>();
/** flock(1)'s exit status when the lock is held by someone else (--conflict-exit-code). */
const LOCK_HELD = 75;

/** What the lock file says about its holder: mprog, its pid, start time and command. */
interface LockLabel {
  tool: 'mprog';
  pid: number;
  start: string | null;
  command: string;
}

/** Who the label in the lock file names, if that process still runs (same pid and start time). */
function liveHolder(fd: number): LockLabel | null {
  try {
    const buf = Buffer.alloc(512);
    const label = JSON.parse(buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8')) as Partial<LockLabel>;
    const pid = Number(label.pid);
    if (label.tool !== 'mprog' || !(pid > 0) || processStartTime(pid) !== label.start) return null;
    return { tool: 'mprog', pid, start: label.start, command: typeof label.command === 'string' ? label.command : '' };
  } catch {
    return null; // empty (its holder is about to write it), an older mprog's bare pid, or anything else
  }
}

/**
 * Makes `dir` this process's until it exits; a BadInput says who has it: two runs appending to
 * one results.jsonl would interleave their records.
 *
 * The lock is the kernel's: flock(2) of `.lock` through an fd this process holds (flock(1) takes
 * it on that fd's open file description, which node keeps open; node has no flock of its own).
 * That is sound where a lock file's content is not: the kernel takes it atomically (of two
 * processes racing, exactly one gets it) and lets it go when the holder's last fd closes, however
 * it ends (SIGKILL too), so there is no stale lock to take over and no pid to trust: a `.lock`
 * left by a killed run, or naming a pid now used by another process (pid 1, a `sleep`), is simply
 * not locked. What the file holds (mprog, pid, start time, command) only says who is writing. The
 * holder removes the file at exit while it still holds the lock; a process that got the lock on a
 * file already removed (or replaced) that way sees the path is no longer its file and tries again.
 */
export function lockOutDir(dir: string): void {
  const file = resolve(dir, LOCK_FILE);
  if (held.has(file)) return;
  const cannot = (why: string, cause?: unknown): BadInput => new BadInput(`--out ${dir}: cannot lock it (${why})`, { file, cause });
  for (let attempt = 0; attempt < 10; attempt++) {
    let fd: number;
    try {
      // Not through a link, never blocking (a FIFO standing there); node adds O_CLOEXEC.
      fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw cannot(code === 'ELOOP' ? `${LOCK_FILE} is a symbolic link` : `${LOCK_FILE}: ${code}`, err);
    }
    const mine = fstatSync(fd);
    if (!mine.isFile()) {
      closeSync(fd);
      throw cannot(`${LOCK_FILE} is not a regular file`);
    }
    const flock = spawnSync('flock', ['--exclusive', '--nonblock', '--conflict-exit-code', String(LOCK_HELD), '3'], {
      stdio: ['ignore', 'ignore', 'pipe', fd],
      encoding: 'utf8',
    });
    if (flock.status !== 0) {
      const holder = flock.status === LOCK_HELD ? liveHolder(fd) : null;
      closeSync(fd);
      if (flock.status === LOCK_HELD) {
        const who = holder ? `another mprog ${holder.command} (pid ${holder.pid})`.replace('  ', ' ') : 'another process';
        throw new BadInput(`--out ${dir}: ${who} is writing there; wait for it to end, or use another --out`, { file });
      }
      throw cannot(
        flock.error ? `flock (util-linux): ${flock.error.message}` : `flock: ${flock.stderr.trim() || `exit ${flock.status}`}`,
        flock.error,
      );
    }
    let now;
    try {
      now = lstatSync(file);
    } catch {
      now = null;
    }
    if (!now || now.ino !== mine.ino || now.dev !== mine.dev) {
      closeSync(fd); // its holder removed it as it ended: the lock is whatever stands there now
      continue;
    }
    const label: LockLabel = { tool: 'mprog', pid: process.pid, start: processStartTime(process.pid), command: process.argv[2] ?? '' };
    ftruncateSync(fd, 0);
    writeSync(fd, `${JSON.stringify(label)}\n`, 0);
    held.add(file);
    // The fd stays open (the lock with it) until the process ends; the file goes first.
    atExit(() => rmSync(file, { force: true }));
    return;
  }
  throw cannot(`${LOCK_FILE} keeps being replaced`);
}
