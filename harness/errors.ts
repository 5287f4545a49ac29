// The errors mprog reports to its user, one model for every command (replay, conform, merge,
// fuzz, kernels, bench): each is an MprogError with a name, the message the user needs (the file
// and JSON path where there is one) and an exit class. A library function may return one as a
// value (runConform, mergeRuns, loadCorpus: the caller decides) or throw it; a command throws
// it, and harness/cli/main.ts alone turns it into output and an exit status (reportError).
// Anything else thrown is a bug in mprog and keeps its stack trace.

import { TargetError } from '../contract/target.js';
import { ModelGapError } from '../emulator/syscall.js';

/**
 * What ended the command, as its exit status says it (README, "Faults and exit codes"):
 * `usage` a flag or argument (printed with the command's help), `bad-input` a file, a corpus or
 * an output directory, `unusable` a target that cannot answer (replay, fuzz) or a kernel that
 * cannot be built, `crash` a kernel that crashed under a command that stops there (diff).
 */
export type ExitClass = 'usage' | 'bad-input' | 'unusable' | 'crash';

export const EXIT_STATUS: Record<ExitClass, number> = { usage: 2, 'bad-input': 2, unusable: 2, crash: 3 };

export interface ErrorPlace {
  /** The file the error is in, and the JSON path in it, where there is one. */
  file?: string;
  jsonPath?: string;
  /** Printed after the message: e.g. the tail of a guest's console. */
  detail?: string;
  cause?: unknown;
}

export abstract class MprogError extends Error {
  abstract readonly exitClass: ExitClass;
  readonly file?: string;
  readonly jsonPath?: string;
  readonly detail?: string;

  constructor(message: string, { file, jsonPath, detail, cause }: ErrorPlace = {}) {
    super(message, cause === undefined ? undefined : { cause });
    if (file !== undefined) this.file = file;
    if (jsonPath !== undefined) this.jsonPath = jsonPath;
    if (detail !== undefined) this.detail = detail;
  }
}

/** A usage mistake (a flag, a missing argument): reported with the command's help. */
export class UsageError extends MprogError {
  override name = 'UsageError';
  readonly exitClass = 'usage';
}

/** Bad input from the user (a corpus file, an output directory, runs that do not merge). */
export class BadInput extends MprogError {
  override name = 'BadInput';
  readonly exitClass: ExitClass = 'bad-input';
}

/** Several bad inputs found in one go (every bad file of a replay), each reported on its own line. */
export class BadInputs extends BadInput {
  override name = 'BadInputs';
  constructor(readonly errors: BadInput[]) {
    super(errors.map((e) => e.message).join('\n'));
  }
}

/** Something mprog needs cannot be used here (the mirror, apt): the user acts on the message. */
export class Unusable extends MprogError {
  override name = 'Unusable';
  readonly exitClass = 'unusable';
}

/** A kernel that could not be built, or could not run a command's sequences: exit 3 when it
 * crashed (panicked, hung, lost its agent), else 2. */
export class KernelFailure extends MprogError {
  override name = 'KernelFailure';
  constructor(
    message: string,
    readonly exitClass: 'unusable' | 'crash' = 'unusable',
    place: ErrorPlace = {},
  ) {
    super(message, place);
  }
}

/** A target that could not answer: `SPEC: why`, and a guest's console tail. */
export class TargetFailure extends MprogError {
  override name = 'TargetFailure';
  readonly exitClass = 'unusable';
  constructor(spec: string, cause: Error) {
    super(cause.message.startsWith(`${spec}:`) ? cause.message : `${spec}: ${cause.message}`, {
      cause,
      ...(cause instanceof TargetError && cause.console && { detail: `--- console (tail) ---\n${cause.console}` }),
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

/** The lines that say `err` to the user, each `mprog: ...` (the command's help is the caller's). */
export function errorText(err: MprogError, command?: string): string {
  const lines = err instanceof BadInputs ? err.errors.map((e) => e.message) : [err.message];
  const prefix = err instanceof UsageError && command ? `mprog ${command}: ` : 'mprog: ';
  return lines.map((l) => `${prefix}${l}\n`).join('') + (err.detail ? `${err.detail}\n` : '');
}
