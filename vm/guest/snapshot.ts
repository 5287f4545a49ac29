// A booted guest saved once and resumed on every later start: QEMU's migration stream of a guest
// whose agent has just answered the handshake, written to a file (`migrate "exec:cat > FILE"`
// over QMP) and fed back to `-incoming fd:3` by mprog itself. Under TCG a boot takes seconds and
// a resume a fraction of one; every resumed guest starts from the same state (the same ids too).
//
// A saved guest is a cache product like the others (cache-products.ts): beside `KEY.state` its
// manifest `KEY.json` records the state's SHA-256 and size, the kernel release the guest reported
// and its boot console. It is verified on every resume, and cheaply: the bytes QEMU loads are the
// bytes hashed, on their way to QEMU (streamState), so the check costs no second read of the file
// and overlaps QEMU's own loading; a resumed guest is used only once the whole stream matched and
// the guest's `uname -r` is the one recorded (and the kernel's own, where that is known).

import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { cacheRoot, scratchFor } from '../runtime/paths.js';
import { discard, notAFile, readCachedJson, sha256File } from '../runtime/cache-products.js';
import { Unusable } from '../../contract/errors.js';

/** What was recorded when a guest was saved. */
export interface SnapshotManifest {
  /** Of the state file. */
  sha256: string;
  size: number;
  /** The saved guest's `uname -r`. */
  release: string;
  /** The guest's console up to the save (a resumed guest prints nothing of its boot). */
  console: string;
}

/** The manifest of the state file `file`. */
export function manifestPath(file: string): string {
  return file.replace(/\.state$/, '') + '.json';
}

function validManifest(value: unknown): string | null {
  const m = value as Partial<SnapshotManifest> | null;
  if (typeof m !== 'object' || m === null) return 'is not a JSON object';
  if (typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256)) return 'records no SHA-256';
  if (typeof m.size !== 'number' || typeof m.release !== 'string' || typeof m.console !== 'string') return 'lacks the size, release or console';
  return null;
}

/** Removes a saved guest (state and manifest), saying once why. */
export function discardSnapshot(file: string, why: string): void {
  discard(file, why);
  rmSync(manifestPath(file), { recursive: true, force: true });
}

/**
 * The manifest of the saved guest `file` when it may be resumed: the state a regular file of the
 * recorded size (its hash is checked as QEMU reads it: streamState). Anything else that stands
 * there — a directory, a state without manifest, a truncated file — is said once and removed;
 * then null, and the guest boots and is saved again.
 */
export function savedGuest(file: string): SnapshotManifest | null {
  const manifestFile = manifestPath(file);
  const stateWrong = notAFile(file);
  if (stateWrong === 'is missing' && notAFile(manifestFile) === 'is missing') return null;
  if (stateWrong) {
    discardSnapshot(file, stateWrong);
    return null;
  }
  const manifest = notAFile(manifestFile) === 'is missing' ? null : readCachedJson<SnapshotManifest>(manifestFile, validManifest);
  if (!manifest) {
    discardSnapshot(file, 'no checksum recorded for this saved guest');
    return null;
  }
  const size = statSync(file).size;
  if (size !== manifest.size) {
    discardSnapshot(file, `is ${size} bytes; ${manifest.size} were saved`);
    return null;
  }
  return manifest;
}

/**
 * Writes the state file to `sink` (QEMU's incoming migration channel), hashing what it writes;
 * resolves to why it does not match `manifest`, or null when every byte did. A sink that stops
 * taking bytes (QEMU gave up on the stream) resolves to that.
 */
export function streamState(file: string, manifest: SnapshotManifest, sink: Writable): Promise<string | null> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    let size = 0;
    let done = false;
    const finish = (why: string | null) => {
      if (done) return;
      done = true;
      input.destroy();
      resolve(why);
    };
    const input = createReadStream(file, { highWaterMark: 1 << 20 });
    sink.on('error', () => finish('QEMU stopped reading it before its end'));
    input.on('error', (err) => finish(`cannot be read (${err.message})`));
    input.on('data', (chunk) => {
      const bytes = chunk as Buffer;
      hash.update(bytes);
      size += bytes.length;
      if (!sink.write(bytes)) {
        input.pause();
        sink.once('drain', () => input.resume());
      }
    });
    input.on('end', () => {
      sink.end();
      if (size !== manifest.size) finish(`is ${size} bytes; ${manifest.size} were saved`);
      else finish(hash.digest('hex') === manifest.sha256 ? null : 'does not match the checksum recorded when it was saved');
    });
  });
}

/** The state file for one exact guest: kernel, initramfs, QEMU binary, accelerator, arguments. */
export function snapshotPath(parts: { qemu: string; kernel: string; initramfs: string; args: string[] }): string {
  const stamp = (file: string) => {
    const st = statSync(file);
    return `${file} ${st.size} ${st.mtimeMs}`;
  };
  const key = createHash('sha256')
    .update([stamp(parts.qemu), stamp(parts.kernel), stamp(parts.initramfs), ...parts.args].join('\n'))
    .digest('hex')
    .slice(0, 16);
  return join(cacheRoot(), 'snapshots', `${key}.state`);
}

/** Saved guests kept: the most recently used. Each is 40–100 MB, and every new agent, initramfs or
 * kernel makes another, so without a bound the cache only grows. */
export const KEEP_SNAPSHOTS = 8;

/** Marks a saved guest as just used (its mtime), so pruning keeps it. */
export function touchSnapshot(file: string): void {
  const now = new Date();
  try {
    utimesSync(file, now, now);
  } catch {
    // Removed meanwhile by another run's pruning: it is saved again at the next boot.
  }
}

/** Removes all but the `keep` most recently used saved guests in `dir`. */
export function pruneSnapshots(dir: string, keep = KEEP_SNAPSHOTS): string[] {
  let all: string[];
  try {
    all = readdirSync(dir);
  } catch {
    return [];
  }
  const names = all.filter((n) => n.endsWith('.state'));
  // A manifest whose state is gone is of no use.
  for (const n of all)
    if (n.endsWith('.json') && !all.includes(n.replace(/\.json$/, '.state'))) rmSync(join(dir, n), { recursive: true, force: true });
  const used = names
    .map((name) => {
      try {
        return { file: join(dir, name), mtime: statSync(join(dir, name)).mtimeMs };
      } catch {
        return null;
      }
    })
    .filter((s): s is { file: string; mtime: number } => s !== null)
    .sort((a, b) => b.mtime - a.mtime);
  const removed = used.slice(keep).map((s) => s.file);
  for (const file of removed) {
    rmSync(file, { recursive: true, force: true });
    rmSync(manifestPath(file), { recursive: true, force: true });
  }
  return removed;
}

/** A shell word for QEMU's `exec:` migration URIs (run by /bin/sh). */
export function shellWord(path: string): string {
  return `'${path.replace(/'/g, `'\\''`)}'`;
}

/** One QMP session: commands one at a time, events skipped. */
class Qmp {
  private buffer = '';
  private waiting: ((line: Record<string, unknown>) => void) | null = null;
  private readonly lines: Record<string, unknown>[] = [];

  private constructor(private readonly socket: ReturnType<typeof connect>) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const parts = (this.buffer + chunk).split('\n');
      this.buffer = parts.pop() ?? '';
      for (const part of parts) if (part.trim()) this.push(JSON.parse(part) as Record<string, unknown>);
    });
  }

  private push(line: Record<string, unknown>): void {
    if ('event' in line) return;
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting) waiting(line);
    else this.lines.push(line);
  }

  private next(): Promise<Record<string, unknown>> {
    const line = this.lines.shift();
    return line ? Promise.resolve(line) : new Promise((resolve) => (this.waiting = resolve));
  }

  static async open(path: string): Promise<Qmp> {
    const socket = connect(path);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const qmp = new Qmp(socket);
    await qmp.next(); // the greeting
    await qmp.run('qmp_capabilities');
    return qmp;
  }

  async run(command: string, args?: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.socket.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    const answer = await this.next();
    if ('error' in answer) throw new Unusable(`QMP ${command}: ${JSON.stringify(answer['error'])}`);
    return (answer['return'] ?? {}) as Record<string, unknown>;
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Saves the guest behind the QMP socket to `file` with its manifest (`release` and `console` as
 * the guest gave them) and lets it run on; throws when it could not.
 */
export async function saveSnapshot(qmpSocket: string, file: string, guest: { release: string; console: string }): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = scratchFor(file);
  const manifestTmp = `${tmp}.json`;
  const qmp = await Qmp.open(qmpSocket);
  try {
    // Live: the guest's agent waits for input, so the pages converge at once, and the stream
    // records a running guest, which -incoming then starts by itself.
    await qmp.run('migrate', { uri: `exec:cat > ${shellWord(tmp)}` });
    for (;;) {
      const status = (await qmp.run('query-migrate'))['status'];
      if (status === 'completed') break;
      if (status === 'failed' || status === 'cancelled') throw new Unusable(`saving the booted guest: migration ${String(status)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await qmp.run('cont'); // a source is paused once its migration completed
    const manifest: SnapshotManifest = { sha256: await sha256File(tmp), size: statSync(tmp).size, ...guest };
    writeFileSync(manifestTmp, `${JSON.stringify(manifest, null, 2)}\n`);
    // Whatever stands in the way (a directory where the state should be) goes first.
    for (const path of [file, manifestPath(file)])
      if (notAFile(path) !== null && notAFile(path) !== 'is missing') rmSync(path, { recursive: true, force: true });
    renameSync(tmp, file);
    renameSync(manifestTmp, manifestPath(file));
    pruneSnapshots(dirname(file));
  } finally {
    qmp.close();
    rmSync(tmp, { force: true });
    rmSync(manifestTmp, { force: true });
  }
}
