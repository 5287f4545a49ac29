// `mprog replay --target TARGET --json FILE...`

import { SeqError, parseSequenceFile } from '../sequences/parse.js';
import { type ReplayReport, formatExpectFailures, replaySequence } from '../replay/replay.js';
import type { Sequence } from '../../contract/seq.js';
import { openTarget } from '../targets/open.js';
import { BadInputs, UsageError } from '../../contract/errors.js';
import { targetFailure } from '../errors.js';
import { parseOptions } from './options.js';
import { answerText, callTexts } from '../results/step-text.js';
import type { ExpectFailure } from '../replay/replay.js';
import { TARGET_OPTIONS, openOptions, targetOptionsHelp } from './target-options.js';

export const REPLAY_HELP = `usage: mprog replay --target TARGET [--json] [--modules DIR] [--deadline MS] FILE...

Replay mprog-seq/1 files on one target, print the results (a line per step: the call and the
answer; --json: the normalised results) and check each step's expect.

  --target TARGET  emulator[:PROFILE], host (the running kernel; root), or qemu:KERNEL:ARCH with
                   KERNEL debian-X.Y, mprog-X.Y (built here from Debian's linux-source-X.Y) or
                   a kernel image, ARCH x86_64 or arm64 (mprog kernels lists them)
  --json           the results as JSON (with expect_failures where an expect failed)
${targetOptionsHelp(19)}

short forms: -t --target, -j --json

exit status: 0 every expect held, 1 an expect failed, 2 bad input or unusable target`;

export async function runReplay(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, {
    target: { type: 'string', short: 't' },
    json: { type: 'boolean', short: 'j', default: false },
    ...TARGET_OPTIONS,
  });
  if (!values.target) throw new UsageError('replay needs --target');
  if (positionals.length === 0) throw new UsageError('replay needs at least one FILE');
  const targetOptions = openOptions(values);

  // Every file is parsed, so one run names every bad one.
  const seqs: Sequence[] = [];
  const bad: SeqError[] = [];
  for (const file of positionals) {
    try {
      seqs.push(parseSequenceFile(file));
    } catch (err) {
      if (!(err instanceof SeqError)) throw err;
      bad.push(err);
    }
  }
  if (bad.length) throw new BadInputs(bad);

  let status = 0;
  const reports: (ReplayReport & { expect_failures?: ExpectFailure[] })[] = [];
  let target;
  try {
    target = await openTarget(values.target as string, targetOptions);
    // Every file in flight at once: a target answers them in order, and a VM never waits for us.
    const replayed = await Promise.all(seqs.map((seq) => replaySequence(target!, seq)));
    replayed.forEach(({ report, expectFailures }, i) => {
      reports.push(expectFailures.length ? { ...report, expect_failures: expectFailures } : report);
      if (expectFailures.length) {
        process.stderr.write(`${formatExpectFailures(seqs[i]!, target!.spec, expectFailures)}\n`);
        status = 1;
      }
    });
  } catch (err) {
    throw targetFailure(values.target, err);
  } finally {
    await target?.close();
  }
  if (values.json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
  else reports.forEach((r, i) => process.stdout.write(replayText(seqs[i]!, r)));
  return status;
}

/** A replayed file for a person: a header, then each step's call and answer (`!` where its expect failed). */
function replayText(seq: Sequence, r: ReplayReport & { expect_failures?: ExpectFailure[] }): string {
  const failed = new Set((r.expect_failures ?? []).map((f) => f.step));
  const kernel = r.kernel === r.target ? '' : ` (${r.kernel})`;
  const lines = [`${r.file}: ${r.target}${kernel}: ${r.results.length} steps${failed.size ? `, ${failed.size} expects failed` : ''}`];
  const calls = callTexts(seq);
  const width = Math.min(60, Math.max(...calls.map((c) => c.length)));
  r.results.forEach((res, i) => lines.push(`${failed.has(i) ? '!' : ' '}${String(i).padStart(4)}  ${calls[i]!.padEnd(width)}  ${answerText(res)}`));
  return `${lines.join('\n')}\n`;
}
