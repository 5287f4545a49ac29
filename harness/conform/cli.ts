// `mprog conform ...` and `mprog merge DIR...`: flags to a request, then the run, the live
// progress on stderr and the final report on stdout. The exit status is the report's.

import { openTarget } from '../targets/open.js';
import { resolve } from 'node:path';
import { UsageError, integerOption, parseOptions, profileOption } from '../cli/main.js';
import { mergeRuns } from './merge.js';
import { REPORT_FILES } from './outputs.js';
import { displayPath, parseShard } from './plan.js';
import { BadInput, RESULTS_FILE } from './records.js';
import type { Report } from './report.js';
import { DEFAULT_OUT, runConform } from './run.js';
import { Progress, renderReport } from './terminal.js';

/** "a,b" and repeated flags alike. */
function list(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(',')).filter((v) => v !== '');
}

function finish(result: { report: Report; outDir: string } | BadInput): number {
  if (result instanceof BadInput) {
    process.stderr.write(`mprog: ${result.message}\n`);
    return 2;
  }
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
    modules: { type: 'string' },
  });
  const shard = values.shard === undefined ? null : parseShard(values.shard);
  if (shard instanceof BadInput) throw new UsageError(shard.message);
  const progress = new Progress(process.stderr);
  const result = await runConform({
    corpus: positionals,
    kernels: list(values.kernel),
    arches: list(values.arch),
    host: values.host,
    shard,
    profile: profileOption(values.profile) ?? null,
    outDir: values.out,
    jobs: integerOption('--jobs', values.jobs, 1) ?? null,
    resume: values.resume,
    onProgress: progress.handle,
    ...(values.modules !== undefined && { openTarget: (spec: string) => openTarget(spec, { modulesDir: values.modules }) }),
  });
  progress.finish();
  return finish(result);
}

export async function runMergeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, { out: { type: 'string', default: DEFAULT_OUT } });
  if (positionals.length === 0) throw new UsageError('merge needs at least one DIR (an output directory of mprog conform)');
  return finish(mergeRuns(positionals, values.out));
}
