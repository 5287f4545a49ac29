// `mprog conform ...` and `mprog merge DIR...`: flags to a request, then the run, the live
// progress on stderr and the final report on stdout. The exit status is the report's.

import { setNoticeSink } from '../../vm/runtime/notices.js';
import { openTarget } from '../targets/open.js';
import { resolve } from 'node:path';
import { integerOption, parseOptions, profileOption } from './options.js';
import { TARGET_OPTIONS, openOptions, targetOptionsHelp } from './target-options.js';
import { mergeRuns } from '../results/merge.js';
import { REPORT_FILES } from '../results/writers/files.js';
import { displayPath } from '../sequences/corpus.js';
import { UsageError } from '../../contract/errors.js';
import { parseShard } from '../conform/plan.js';
import { RESULTS_FILE } from '../results/records.js';
import type { Report } from '../results/report.js';
import { stopCleanlyOnSignal } from '../conform/interrupt.js';
import { DEFAULT_OUT, runConform } from '../conform/run.js';
import { Progress, renderReport } from '../results/writers/terminal.js';
import { colourOn } from '../colour.js';
import { coverageLines } from '../coverage/report.js';

export const CONFORM_HELP = `usage: mprog conform [--kernel K,...] [--arch A,...] [--host] [--profile P] [--out DIR]
                     [--jobs N] [--shard I/N] [--resume] [--verbose] [--modules DIR] [--deadline MS]
                     [CORPUS...]

Replay a corpus on kernels and on the emulator (profile from each kernel's release) and diff
every step.

  --kernel K     debian-X.Y, mprog-X.Y or a kernel image (default debian-6.12; mprog kernels
                 lists what the mirror has)
  --arch A       x86_64, arm64 (default x86_64)
  --host         also the running kernel (alone: only it)
  --profile P    one emulator profile for every target instead
  --out DIR      writes results.jsonl, junit.xml, results.tap, summary.md (default out/conform);
                 on a coverage kernel (mprog kernel build --coverage) also coverage.info (lcov)
                 and coverage/index.html: the lines, functions and branches the kernel ran
  --jobs N       targets at once (default: the number of cores)
  --shard I/N    only the I-th of N round-robin parts of the corpus (join with mprog merge)
  --resume       continue the run in DIR, skipping what it finished
  --verbose      every divergent step of a failed pair (default: the first, the rest counted)
${targetOptionsHelp(17)}
  CORPUS         files or directories (default: test/sequences and corpus)

short forms: -k --kernel, -a --arch, -o --out

exit status: 0 all agree, 1 a divergence or failed expect, 2 bad input or unusable target,
             3 a kernel crashed or hung`;

export const MERGE_HELP = `usage: mprog merge DIR... [--out DIR] [--verbose]

Join the output directories of several conform runs (the shards of one run, made on different
machines) into one output directory with one report; a coverage kernel's coverage summed over
them (coverage.info, coverage/, the summary's section).

  --out DIR  where the merged results.jsonl and reports go (default out/conform)
  --verbose  every divergent step of a failed pair (default: the first, the rest counted)

exit status: as conform's, for the merged report; 2 when the runs cannot be merged`;

/** "a,b" and repeated flags alike; an empty item (`--kernel ''`) is a mistake, not the default. */
function list(flag: string, values: string[] | undefined): string[] {
  const items = (values ?? []).flatMap((v) => v.split(','));
  if (items.includes(''))
    throw new UsageError(`${flag} ${values!.map((v) => JSON.stringify(v)).join(' ')}: an empty name; leave ${flag} out for the default`);
  return items;
}

function finish(result: { report: Report; outDir: string }, verbose: boolean): number {
  const files = [RESULTS_FILE, ...Object.values(REPORT_FILES)].map((f) => displayPath(resolve(result.outDir, f)));
  process.stdout.write(renderReport(result.report, files, { width: process.stdout.columns ?? 100, verbose, colour: colourOn(process.stdout) }));
  return result.report.status;
}

export async function runConformCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, {
    kernel: { type: 'string', short: 'k', multiple: true },
    arch: { type: 'string', short: 'a', multiple: true },
    host: { type: 'boolean', default: false },
    profile: { type: 'string' },
    out: { type: 'string', short: 'o', default: DEFAULT_OUT },
    jobs: { type: 'string' },
    shard: { type: 'string' },
    resume: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    ...TARGET_OPTIONS,
  });
  const targetOptions = openOptions(values);
  const shard = values.shard === undefined ? null : parseShard(values.shard);
  const progress = new Progress(process.stderr);
  const stderrSink = setNoticeSink(progress.notice); // a notice on stderr would be erased by a redraw
  const result = await runConform({
    corpus: positionals,
    kernels: list('--kernel', values.kernel),
    arches: list('--arch', values.arch),
    host: values.host,
    shard,
    profile: profileOption(values.profile) ?? null,
    outDir: values.out,
    jobs: integerOption('--jobs', values.jobs, 1) ?? null,
    resume: values.resume,
    onProgress: (event) => {
      // From the start event on, the run's own results.jsonl is in outDir.
      if (event.type === 'start') stopCleanlyOnSignal(values.out, args, () => progress.finish());
      progress.handle(event);
    },
    openTarget: (spec: string) => openTarget(spec, targetOptions),
  }).finally(() => setNoticeSink(stderrSink));
  progress.finish();
  for (const c of result.coverage) process.stdout.write(`${coverageLines(c).join('\n')}\n`);
  return finish(result, values.verbose);
}

export async function runMergeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, { out: { type: 'string', default: DEFAULT_OUT }, verbose: { type: 'boolean', default: false } });
  if (positionals.length === 0) throw new UsageError('merge needs at least one DIR (an output directory of mprog conform)');
  const merged = await mergeRuns(positionals, values.out);
  for (const c of merged.coverage) process.stdout.write(`${coverageLines(c).join('\n')}\n`);
  return finish(merged, values.verbose);
}
