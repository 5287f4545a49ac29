// Nothing mprog starts outlives it. The OS ties every child to this process: util-linux setpriv
// sets PR_SET_PDEATHSIG before exec, so a SIGKILL to node still kills QEMU; a child with children
// of its own (the host agent forks per sequence, make runs compilers) is also made init of a
// PID namespace, whose death takes everything in it along. The exit hook covers ordinary exits
// and the signals the command line turns into exits (bin/mprog.js). Scratch directories carry their owner's pid, so what
// a killed run left behind is reclaimed by the next one.

import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The full path of `name` on PATH, or null. */
export function findOnPath(name: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const path = join(dir, name);
    try {
      if (statSync(path).isFile()) return path;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/**
 * `cmd args` as a command line that dies with this process: [file, args] for spawn/execa.
 * `tree`: the command's own children die with it too (a PID namespace; needs root, as every
 * target that starts such a child does; without it only the command itself is tied).
 */
export function tied(cmd: string, args: readonly string[], opts: { tree?: boolean } = {}): [string, string[]] {
  const pidns = opts.tree && process.getuid?.() === 0 ? ['unshare', '--pid', '--fork', '--kill-child=SIGKILL', '--'] : [];
  return ['setpriv', ['--pdeathsig', 'SIGKILL', '--', ...pidns, cmd, ...args]];
}

const exitHooks = new Set<() => void>();
process.once('exit', () => {
  for (const hook of exitHooks) hook();
});

/** Runs `hook` (synchronous) when the process exits; the returned function unregisters it. */
export function atExit(hook: () => void): () => void {
  exitHooks.add(hook);
  return () => void exitHooks.delete(hook);
}

const signalHooks: ((signal: NodeJS.Signals) => void)[] = [];

/** Runs `hook` (synchronous) first when a signal ends the process (see exitOnSignals). */
export function beforeSignalExit(hook: (signal: NodeJS.Signals) => void): () => void {
  signalHooks.push(hook);
  return () => void signalHooks.splice(signalHooks.indexOf(hook), 1);
}

/**
 * SIGINT, SIGTERM and SIGHUP end the process through exit() (status 128 + the signal's number),
 * so the exit hooks run; by default node would die without them.
 */
export function exitOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const hook of signalHooks.splice(0)) hook(signal);
      process.exit(128 + constants.signals[signal]);
    });
  }
}

/** Whether a process of this id exists (EPERM: it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the entries of `dir` whose name matches `owned` and whose owner (the pid in the first
 * group) is gone: what a killed mprog left.
 */
export function reclaim(dir: string, owned: RegExp): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(owned.exec(name)?.[1]);
    if (pid > 0 && pid !== process.pid && !pidAlive(pid)) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/** A fresh directory under the system's temp dir, removed at exit (or, after a kill, by the next run). */
export function scratchDir(prefix: string): { path: string; remove: () => void } {
  reclaim(tmpdir(), new RegExp(`^${prefix}-(\\d+)-`));
  const path = mkdtempSync(join(tmpdir(), `${prefix}-${process.pid}-`));
  const remove = (): void => {
    rmSync(path, { recursive: true, force: true });
    forget();
  };
  const forget = atExit(remove);
  return { path, remove };
}
