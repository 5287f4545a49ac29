// `mprog conform ...` and `mprog merge DIR...`: flags to a request, then the run, the live
// progress on stderr and the final report on stdout. The exit status is the report's.

import { setNoticeSink } from '../../vm/notices.js';
import { openTarget } from '../targets/open.js';
import { resolve } from 'node:path';
import { integerOption, parseOptions, profileOption } from '../cli/main.js';
import { TARGET_OPTIONS, openOptions, targetOptionsHelp } from '../cli/target-options.js';
import { mergeRuns } from './merge.js';
import { REPORT_FILES } from './outputs.js';
import { displayPath } from '../corpus.js';
import { BadInput, UsageError } from '../errors.js';
import { parseShard } from './plan.js';
import { RESULTS_FILE } from './records.js';
import type { Report } from './report.js';
import { stopCleanlyOnSignal } from './interrupt.js';
import { DEFAULT_OUT, runConform } from './run.js';
import { Progress, renderReport } from './terminal.js';

export const CONFORM_HELP = `usage: mprog conform [--kernel K,...] [--arch A,...] [--host] [--profile P] [--out DIR]
                     [--jobs N] [--shard I/N] [--resume] [--modules DIR] [--deadline MS] [CORPUS...]

Replay a corpus on kernels and on the emulator (profile from each kernel's release) and diff
every step.

  --kernel K     debian-X.Y, mprog-X.Y or a kernel image (default debian-6.12; mprog kernels
                 lists what the mirror has)
  --arch A       x86_64, arm64 (default x86_64)
  --host         also the running kernel (alone: only it)
  --profile P    one emulator profile for every target instead
  --out DIR      writes results.jsonl, junit.xml, results.tap, summary.md (default out/conform)
  --jobs N       targets at once (default: the number of cores)
  --shard I/N    only the I-th of N round-robin parts of the corpus (join with mprog merge)
  --resume       continue the run in DIR, skipping what it finished
${targetOptionsHelp(17)}
  CORPUS         files or directories (default: test/sequences and corpus)

exit status: 0 all agree, 1 a divergence or failed expect, 2 bad input or unusable target,
             3 a kernel crashed or hung`;

export const MERGE_HELP = `usage: mprog merge DIR... [--out DIR]

Join the output directories of several conform runs (the shards of one run, made on different
machines) into one output directory with one report.

  --out DIR  where the merged results.jsonl and reports go (default out/conform)

exit status: as conform's, for the merged report; 2 when the runs cannot be merged`;

/** "a,b" and repeated flags alike; an empty item (`--kernel ''`) is a mistake, not the default. */
function list(flag: string, values: string[] | undefined): string[] {
  const items = (values ?? []).flatMap((v) => v.split(','));
  if (items.includes('')) throw new UsageError(`${flag} ${values!.map((v) => JSON.stringify(v)).join(' ')}: an empty name; leave ${flag} out for the default`);
  return items;
}

function finish(result: { report: Report; outDir: string } | BadInput): number {
  if (result instanceof BadInput) throw result;
  const files = [RESULTS_FILE, ...Object.values(REPORT_FILES)].map((f) => displayPath(resolve(result.outDir, f)));
  process.stdout.write(renderReport(result.report, files, process.stdout.columns ?? 100));
  return result.report.status;
}

export async function runConformCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, {
    kernel: { type: 'string', multiple: true },
    arch: { type: 'string', multiple: true },
    host: { type: 'boolean', default: false },
    profile: { type: 'string' },
    out: { type: 'string', default: DEFAULT_OUT },
    jobs: { type: 'string' },
    shard: { type: 'string' },
    resume: { type: 'boolean', default: false },
    ...TARGET_OPTIONS,
  });
  const targetOptions = openOptions(values);
  const shard = values.shard === undefined ? null : parseShard(values.shard);
  if (shard instanceof BadInput) throw new UsageError(shard.message);
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
  return finish(result);
}

export async function runMergeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, { out: { type: 'string', default: DEFAULT_OUT } });
  if (positionals.length === 0) throw new UsageError('merge needs at least one DIR (an output directory of mprog conform)');
  return finish(mergeRuns(positionals, values.out));
}
