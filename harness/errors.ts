// The harness's own error, a target that could not answer a command (replay, fuzz), and how the
// commands' mains (harness/cli/main.ts, harness/bench/main.ts) say an error. The error model
// itself (MprogError, its exit classes, UsageError, BadInput, Unusable, KernelFailure) is
// contract/errors.ts, shared with vm/.

import { BadInputs, MprogError, UsageError } from '../contract/errors.js';
import { TargetError } from '../contract/target.js';
import { ModelGapError } from '../emulator/syscall.js';

/** A target that could not answer: `SPEC: why`, and a guest's console tail. Exit 2 whatever
 * the fault (replay and fuzz report a crash as a target that cannot answer). */
export class TargetFailure extends MprogError {
  override name = 'TargetFailure';
  readonly exitClass = 'unusable';
  constructor(spec: string, cause: TargetError | ModelGapError) {
    super(cause.message.startsWith(`${spec}:`) ? cause.message : `${spec}: ${cause.message}`, {
      cause,
      ...(cause instanceof TargetError && cause.detail && { detail: cause.detail }),
    });
  }
}

/**
 * What a command throws when its target failed: a target's own errors (TargetError, and the
 * emulator's ModelGapError, a call it does not model) become a TargetFailure naming `spec`;
 * anything else is returned as it is.
 */
export function targetFailure(spec: string, err: unknown): unknown {
  return err instanceof TargetError || err instanceof ModelGapError ? new TargetFailure(spec, err) : err;
}

/**
 * Characters that would act on a terminal or a log instead of showing (C0 and C1 controls but tab
 * and newline, DEL, and the bidirectional overrides that reorder what is shown).
 */
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * `text` as it may go to a terminal or a log: every character of UNPRINTABLE written as its
 * JSON escape (`\u0000`), so that user text (a name with a NUL, an escape sequence in a file
 * name) shows for what it is. Newlines and tabs are kept: they are the message's own layout (a
 * console's CRLF is a newline).
 */
export function printable(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The lines that say `err` to the user, each `mprog: ...` (the command's help is the caller's). */
export function errorText(err: MprogError, command?: string): string {
  const lines = err instanceof BadInputs ? err.errors.map((e) => e.message) : [err.message];
  const prefix = err instanceof UsageError && command ? `mprog ${command}: ` : 'mprog: ';
  return printable(lines.map((l) => `${prefix}${l}\n`).join('') + (err.detail ? `${err.detail}\n` : ''));
}

/**
 * What is said of an error that is not an MprogError: a bug in mprog, with everything needed to
 * find it (its stack, and its causes').
 */
export function bugText(err: unknown): string {
  const lines = ['mprog: internal error (a bug in mprog; please report it with this output):'];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; e = e instanceof Error ? e.cause : undefined, depth++) {
    lines.push(`${depth ? 'caused by: ' : ''}${e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e)}`);
  }
  return printable(`${lines.join('\n')}\n`);
}
