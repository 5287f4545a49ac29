// Running a tool (apt, dpkg-deb, tar, xz, readelf, the agent's build.mjs …) the one way vm/ does:
// tied to mprog's life (setpriv --pdeathsig; with `tree`, its children too), killed by execa's
// `cleanup` at an orderly exit, and on failure a ToolError that says what was being done and the
// last lines the tool printed: what a user needs to act, without its whole output.
//
// Not here: QEMU and the host agent. They are long-lived, in their own process group (so a
// terminal's Ctrl-C reaches mprog, not them), which turns execa's `cleanup` off, and they end
// by the agent protocol's BYE rather than SIGTERM, so `forceKillAfterDelay` (SIGTERM, then SIGKILL)
// does not match their stop either: they keep node's spawn, an exit hook and a BYE deadline.

import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { Unusable } from '../../contract/errors.js';
import { tied } from './lifetime.js';

/**
 * A tool that could not be run or did not succeed: `what`, the exit status and its last lines.
 * Unusable (exit 2): what the user acts on is the tool's own words (a missing package, a
 * mirror that is down, a compiler error).
 */
export class ToolError extends Unusable {
  override name = 'ToolError';
  constructor(
    message: string,
    /** undefined: it could not be run at all. */
    readonly exitCode: number | undefined,
    /** What it printed on stderr (stdout when stderr was empty), whole. */
    readonly output: string,
  ) {
    super(message);
  }
}

export interface ToolOptions {
  /** What the tool was doing, in the user's words ("building the agent (x86_64)"): a failure says `WHAT failed`. */
  what: string;
  /** Tie its whole process tree to mprog (a PID namespace when root), not only the tool. */
  tree?: boolean;
  env?: Record<string, string>;
  cwd?: string;
  input?: string | Buffer;
  /** How many of its last lines a failure shows (default 10). */
  lines?: number;
  /** Each line of its stdout as it comes (a long build's progress); the result still has all of it. */
  onLine?: (line: string) => void;
}

/** Calls `onLine` with each complete line `stream` yields. */
function followLines(stream: Readable | null, onLine: (line: string) => void): void {
  let partial = '';
  stream?.on('data', (chunk: Buffer | string) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) onLine(line);
  });
}

/** The last `n` lines of `text`, without trailing white space. */
export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

/**
 * Runs `cmd args` and returns its stdout (bytes with `binary`); a failure throws a ToolError
 * `WHAT failed (exit N):` followed by its last lines.
 */
export async function runTool(cmd: string, args: readonly string[], opts: ToolOptions & { binary: true }): Promise<Buffer>;
export async function runTool(cmd: string, args: readonly string[], opts: ToolOptions & { binary?: false }): Promise<string>;
export async function runTool(cmd: string, args: readonly string[], opts: ToolOptions & { binary?: boolean }): Promise<string | Buffer> {
  const child = execa(...tied(cmd, args, { tree: opts.tree ?? false }), {
    reject: false,
    cleanup: true,
    encoding: opts.binary ? 'buffer' : 'utf8',
    ...(opts.env && { env: opts.env }),
    ...(opts.cwd && { cwd: opts.cwd }),
    ...(opts.input !== undefined && { input: opts.input }),
  });
  if (opts.onLine) followLines(child.stdout, opts.onLine);
  const r = await child;
  if (r.exitCode === 0) return opts.binary ? Buffer.from(r.stdout as Uint8Array) : (r.stdout as string);
  const text = (out: unknown) => (typeof out === 'string' ? out : Buffer.from((out as Uint8Array | undefined) ?? []).toString());
  const stderr = text(r.stderr);
  const output = stderr.trim() ? stderr : opts.binary ? '' : text(r.stdout);
  if (r.exitCode === undefined) throw new ToolError(`${opts.what} failed: cannot run ${cmd}: ${r.shortMessage}`, undefined, output);
  const tail = lastLines(output, opts.lines ?? 10);
  throw new ToolError(`${opts.what} failed (exit ${r.exitCode})${tail ? `:\n${tail}` : ''}`, r.exitCode, output);
}
