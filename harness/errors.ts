// The errors a command reports to the user, shared by every command (replay, conform, merge,
// fuzz, bench).

/** Bad input from the user (a flag, a corpus file, an output directory): exit 2, no stack trace. */
export class BadInput {
  constructor(readonly message: string) {}
}
