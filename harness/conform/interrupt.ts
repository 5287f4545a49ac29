// A conform run stopped by a signal (Ctrl-C, a CI cancel): the pairs it finished are in
// results.jsonl already; the reports are written for them, and the user is told how to go on.

import { beforeSignalExit } from '../../vm/lifetime.js';
import { shellQuote } from '../shell-quote.js';
import { writeReports } from './outputs.js';
import { BadInput } from '../errors.js';
import { buildReport } from './report.js';
import { readRun } from './store.js';

/**
 * From now on, a signal ends the run after writing the reports of `outDir` (synchronously: the
 * process exits right after, so no pair can finish half-recorded) and saying how to resume.
 * `args` are the conform command's own arguments.
 */
export function stopCleanlyOnSignal(outDir: string, args: readonly string[], before: () => void): void {
  beforeSignalExit((signal) => {
    before();
    const stored = readRun(outDir);
    if (stored instanceof BadInput) {
      process.stderr.write(`mprog conform: stopped by ${signal} before any result\n`);
      return;
    }
    writeReports(outDir, buildReport([stored.plan], stored.records));
    const finished = stored.records.filter((r) => r.type === 'result').length;
    const total = stored.plan.sequences.length * stored.plan.targets.length;
    const resume = ['mprog', 'conform', ...args.filter((a) => a !== '--resume'), '--resume'].map(shellQuote).join(' ');
    process.stderr.write(
      `mprog conform: stopped by ${signal}: ${finished} of ${total} pairs finished; their reports are in ${outDir}\n` +
        `continue with: ${resume}\n`,
    );
  });
}
