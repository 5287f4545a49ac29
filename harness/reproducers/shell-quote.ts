// One word for sh, whatever characters it holds.

import { printable } from '../errors.js';

/** `arg` as a single shell word: as is when it is plainly safe, else single-quoted. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * One word for the shell the user types into: shellQuote's, or for text with control
 * characters (which would act on the terminal if printed) bash's $'...' with them escaped.
 */
export function shellWord(arg: string): string {
  if (printable(arg) === arg) return shellQuote(arg);
  return `$'${arg.replace(/[\\']/g, '\\$&').replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`;
}
