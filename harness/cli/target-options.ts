// The options every command that opens a kernel target takes: --modules and --deadline.

import type { OpenOptions } from '../targets/open.js';
import { parseDeadline } from '../../contract/target.js';

export const TARGET_OPTIONS = {
  modules: { type: 'string' },
  deadline: { type: 'string' },
} as const;

/** Their help lines, the descriptions starting at `column` as in the command's own help. */
export function targetOptionsHelp(column: number): string {
  const pad = (flag: string): string => `  ${flag}`.padEnd(column);
  return [
    `${pad('--modules DIR')}the modules directory of a kernel image given by path`,
    '  --deadline BASE[,STEP[,QUERY]]',
    `${pad('')}milliseconds a kernel target may take per sequence: BASE, plus STEP per`,
    `${pad('')}step and QUERY per query checked with bpftool (default 60000,20,200)`,
  ].join('\n');
}

/** What --modules and --deadline ask of openTarget. */
export function openOptions(values: { modules?: string; deadline?: string }): OpenOptions {
  const deadline = values.deadline === undefined ? undefined : parseDeadline(values.deadline);
  return { ...(values.modules !== undefined && { modulesDir: values.modules }), ...(deadline !== undefined && { deadline }) };
}
