// What a thrown error says about a pair or a target, as a run records it: a target's own fault
// (its kind, its console tail saved beside the results), a call the model does not make, or a
// fault of the harness; and the file-name form of a sequence or target name. An error that is
// none of these (not an MprogError) is a bug in mprog: it is not recorded but thrown on, and
// ends the command with exit 70 (harness/cli/main.ts).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MprogError } from '../../contract/errors.js';
import { TargetError } from '../../contract/target.js';
import { ModelGapError } from '../../emulator/syscall.js';
import type { Fault } from './records.js';

export function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '');
}

/** What a thrown error says about the pair or target; a kernel's console tail is saved in `outDir`.
 * A bug (not an MprogError) is thrown on. */
export function faultOf(outDir: string, err: unknown, logName: string): Fault {
  if (err instanceof ModelGapError) return { kind: 'model-gap', message: `emulator: ${err.message}` };
  if (!(err instanceof MprogError)) throw err;
  if (!(err instanceof TargetError)) {
    // Not a target's answer but a problem mprog said in the user's terms (a tool, a file): recorded.
    return { kind: 'harness-fault', message: err.message };
  }
  const fault: Fault = { kind: err.kind, message: err.message };
  if (err.console) {
    const rel = join('console', `${slug(logName)}.log`);
    mkdirSync(join(outDir, 'console'), { recursive: true });
    writeFileSync(join(outDir, rel), err.console);
    fault.console = rel;
  }
  return fault;
}
