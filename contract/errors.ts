// The errors mprog reports to its user, one model for every command and every layer: each is an
// MprogError with a name, the message the user needs (the file and JSON path where there is one)
// and an exit class. vm/ and harness/ throw them (nothing returns one as a value); a command lets
// them go, and harness/cli/main.ts alone turns one into output and an exit status. Anything else
// thrown is a bug in mprog: main.ts prints it with its stack and exits 70 (EX_SOFTWARE).

/**
 * What ended the command, as its exit status says it (README, "Faults and exit codes"):
 * `usage` a flag or argument (printed with the command's help), `bad-input` a file, a corpus or
 * an output directory, `unusable` a target, tool or mirror that cannot be used here, or a kernel
 * that cannot be built, `crash` a kernel that crashed under a command that stops there (diff).
 */
export type ExitClass = 'usage' | 'bad-input' | 'unusable' | 'crash';

export const EXIT_STATUS: Record<ExitClass, number> = { usage: 2, 'bad-input': 2, unusable: 2, crash: 3 };

/** The exit status of a bug in mprog: an error that is not an MprogError (sysexits.h EX_SOFTWARE). */
export const EXIT_BUG = 70;

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

/** Bad input from the user (a corpus file, an output directory, a kernel image, runs that do not merge). */
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

/** Something mprog needs cannot be used here (a tool, a package, the mirror, apt): the user acts on the message. */
export class Unusable extends MprogError {
  override name = 'Unusable';
  readonly exitClass: ExitClass = 'unusable';
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
