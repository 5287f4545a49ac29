// Nothing mprog starts outlives it. The OS ties every child to this process: util-linux setpriv
// sets PR_SET_PDEATHSIG before exec, so a SIGKILL to node still kills QEMU; a child with children
// of its own (the host agent forks per sequence, make runs compilers) is also made init of a
// PID namespace, whose death takes everything in it along. The exit hook covers ordinary exits
// and the signals the command line turns into exits (bin/mprog.js). Scratch directories carry their owner's pid, so what
// a killed run left behind is reclaimed by the next one.

import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
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

/** The fields of /proc/PID/stat from the third on (state, ppid, …), or null when it is gone. */
function procStat(pid: number): string[] | null {
  try {
    // The command name (field 2) may hold spaces and parentheses: count from its closing one.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** A running process's start time (field 22), which tells it from a later one of the same pid;
 * null when it is gone or a zombie. */
function startTime(pid: number): string | null {
  const fields = procStat(pid);
  return fields && fields[0] !== 'Z' && fields[0] !== 'X' ? (fields[19] ?? null) : null;
}

/** Exported for what must tell a process from a later one of the same pid (the --out lock's label). */
export const processStartTime = startTime;

function parentOf(pid: number): number {
  return Number(procStat(pid)?.[1] ?? 0);
}

/** Whether `pid` is npm running a package's command (`npx`, `npm exec`, `npm run`): its title. */
function isNpmLauncher(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return /^npm( |$)/.test(argv[0] ?? '') || argv.some((a) => /\/(npm|npx)-cli\.js$/.test(a));
  } catch {
    return false;
  }
}

/**
 * When npm started mprog (`npx mprog`, `npm exec`, `npm run`), a signal that ends npm ends mprog
 * the same way: npm exits at SIGTERM or SIGKILL without passing it on, and mprog (behind npm's
 * `sh -c`) would run on under init. The launcher is watched every half second; once it is gone,
 * mprog gets the SIGTERM it would have had. A run of mprog itself (a shell's child) is left to
 * the shell's signals, so `nohup mprog …` outlives its terminal as asked.
 */
export function endWithLauncher(): void {
  let pid = process.ppid;
  // npm → `sh -c` → node: the launcher is at most a few parents up.
  for (let hops = 0; hops < 3 && pid > 1 && !isNpmLauncher(pid); hops++) pid = parentOf(pid);
  if (pid <= 1 || !isNpmLauncher(pid)) return;
  const started = startTime(pid);
  const launcher = pid;
  const watch = setInterval(() => {
    if (startTime(launcher) === started) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGTERM');
  }, 500);
  watch.unref();
}

let lastTurn = Date.now();

/**
 * Lets the event loop run (signals, timers, I/O) when the caller has kept it for a while: the
 * emulator answers without any I/O, so a loop of its answers alone would never give SIGINT or
 * SIGTERM a turn.
 */
export async function letEventsIn(): Promise<void> {
  if (Date.now() - lastTurn < 50) return;
  await new Promise((resolve) => setImmediate(resolve));
  lastTurn = Date.now();
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
