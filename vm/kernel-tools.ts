// Running the tools of a kernel build (tar, git, make, the compiler) so that a failure says what
// went wrong in the user's terms: which tool is missing, or the lines of its output that matter.

import { execa } from 'execa';
import { findOnPath, tied } from './lifetime.js';

/** A kernel build that cannot be done as asked: the message says why (`mprog kernel build` exits 2). */
export class KernelBuildError extends Error {
  override name = 'KernelBuildError';
}

/** Says which of `tools` are not on PATH, naming the Debian packages scripts/setup.sh installs. */
export function requireTools(what: string, tools: readonly string[]): void {
  const missing = tools.filter((t) => findOnPath(t) === null);
  if (missing.length) throw new KernelBuildError(`${what}: missing build tool${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (scripts/setup.sh installs them)`);
}

/** What a compiler or linker says when it stops a build. */
const COMPILER_ERROR = /(: error: |: fatal error: |undefined reference to|Error: |error: )/;

/**
 * The part of a failed command's output worth reading: from the first compiler error (make -j
 * keeps printing after it) a few lines on, then the last lines; or just the last lines.
 */
export function failureTail(output: string, lines = 15): string {
  const all = output.trimEnd().split('\n');
  const first = all.findIndex((l) => COMPILER_ERROR.test(l));
  const tail = all.slice(-lines);
  if (first === -1 || first >= all.length - lines) return tail.join('\n');
  return [...all.slice(first, first + 8), '...', ...tail.slice(-6)].join('\n');
}

/**
 * Runs a build tool (tied to mprog's life, with its whole process tree); a failure is a
 * KernelBuildError with the output's failureTail. `onLine` sees the combined output as it comes.
 */
export async function runBuildStep(
  what: string,
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; step?: string; onLine?: (line: string) => void } = {},
): Promise<string> {
  const child = execa(...tied(cmd, args, { tree: true }), { reject: false, all: true, env: { LC_ALL: 'C', ...opts.env }, maxBuffer: 1 << 28, ...(opts.cwd && { cwd: opts.cwd }) });
  if (opts.onLine) {
    let partial = '';
    child.all?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) opts.onLine!(line);
    });
  }
  const r = await child;
  if (r.exitCode !== 0) {
    const output = r.all ?? '';
    if (r.exitCode === undefined || /failed to execute|No such file or directory.*\b(setpriv|unshare)\b/.test(output)) {
      throw new KernelBuildError(`${what}: cannot run ${cmd} (scripts/setup.sh installs the build tools)`);
    }
    throw new KernelBuildError(`${what}: ${opts.step ?? cmd} failed:\n${failureTail(output)}`);
  }
  return r.all ?? '';
}
