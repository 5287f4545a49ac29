// A booted guest saved once and resumed on every later start: QEMU's migration stream of a guest
// whose agent has just answered the handshake, written to a file (`migrate "exec:cat > FILE"`
// over QMP) and read back with `-incoming "exec:cat FILE"`. Under TCG a boot takes seconds and a
// resume a fraction of one; every resumed guest starts from the same state (the same ids too).

import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { cacheRoot, scratchFor } from './paths.js';

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
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.state'));
  } catch {
    return [];
  }
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
  for (const file of removed) rmSync(file, { force: true });
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
    if ('error' in answer) throw new Error(`QMP ${command}: ${JSON.stringify(answer['error'])}`);
    return (answer['return'] ?? {}) as Record<string, unknown>;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Saves the guest behind the QMP socket to `file` and lets it run on; throws when it could not. */
export async function saveSnapshot(qmpSocket: string, file: string): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = scratchFor(file);
  const qmp = await Qmp.open(qmpSocket);
  try {
    // Live: the guest's agent waits for input, so the pages converge at once, and the stream
    // records a running guest, which -incoming then starts by itself.
    await qmp.run('migrate', { uri: `exec:cat > ${shellWord(tmp)}` });
    for (;;) {
      const status = (await qmp.run('query-migrate'))['status'];
      if (status === 'completed') break;
      if (status === 'failed' || status === 'cancelled') throw new Error(`saving the booted guest: migration ${String(status)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await qmp.run('cont'); // a source is paused once its migration completed
    renameSync(tmp, file);
    pruneSnapshots(dirname(file));
  } finally {
    qmp.close();
    rmSync(tmp, { force: true });
  }
}
