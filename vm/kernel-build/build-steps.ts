// The steps of a kernel build (tar, git apply, make, the compiler) run through tool.ts, with
// failures said in the user's terms: which tool is missing, or the lines of its output that
// matter (a compiler's error, not make's last "Error 1").

import { type ErrorPlace, KernelFailure } from '../../contract/errors.js';
import { findOnPath } from '../runtime/lifetime.js';
import { ToolError, runTool } from '../runtime/run-tool.js';

/** A kernel build that cannot be done as asked: the message says why (`mprog kernel build` exits 2). */
export class KernelBuildError extends KernelFailure {
  override name = 'KernelBuildError';
  constructor(message: string, place: ErrorPlace = {}) {
    super(message, 'unusable', place);
  }
}

/** Says which of `tools` are not on PATH, naming the Debian packages scripts/setup.sh installs. */
export function requireTools(what: string, tools: readonly string[]): void {
  const missing = tools.filter((t) => findOnPath(t) === null);
  if (missing.length)
    throw new KernelBuildError(`${what}: missing build tool${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (scripts/setup.sh installs them)`);
}

/** What a compiler, assembler or linker says when it stops a build. */
const COMPILER_ERROR = /(: error: |: fatal error: |undefined reference to|Error: )/;

/**
 * The part of a failed step's output worth reading: from the first compiler error (make -j
 * keeps going after it) a few lines on, then the last lines; or just the last lines.
 */
export function failureTail(output: string, lines = 15): string {
  const all = output.trimEnd().split('\n');
  const first = all.findIndex((l) => COMPILER_ERROR.test(l));
  const tail = all.slice(-lines);
  if (first === -1 || first >= all.length - lines) return tail.join('\n');
  return [...all.slice(first, first + 8), '...', ...tail.slice(-6)].join('\n');
}

/**
 * Runs one step of a build (its whole process tree tied to mprog); a failure is a
 * KernelBuildError naming `step` with the output's failureTail. `onLine` sees stdout as it comes.
 */
export async function runBuildStep(
  what: string,
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; step?: string; onLine?: (line: string) => void } = {},
): Promise<string> {
  const step = opts.step ?? cmd;
  try {
    return await runTool(cmd, args, {
      what: `${what}: ${step}`,
      tree: true,
      env: { LC_ALL: 'C', ...opts.env },
      ...(opts.cwd && { cwd: opts.cwd }),
      ...(opts.onLine && { onLine: opts.onLine }),
    });
  } catch (err) {
    if (!(err instanceof ToolError)) throw err;
    if (err.exitCode === undefined)
      throw new KernelBuildError(`${what}: cannot run ${cmd} (scripts/setup.sh installs the build tools)`, { cause: err });
    throw new KernelBuildError(`${what}: ${step} failed:\n${failureTail(err.output)}`, { cause: err });
  }
}
