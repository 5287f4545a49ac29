// One word for sh, whatever characters it holds.

/** `arg` as a single shell word: as is when it is plainly safe, else single-quoted. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
