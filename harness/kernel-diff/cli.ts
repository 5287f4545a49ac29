// `mprog diff --base KERNEL --kernel KERNEL [--arch A] [--fuzz N] [--seed S] [--max-steps M]
//  [--out DIR] [--modules DIR] [--deadline MS] [CORPUS...]`

import { resolve } from 'node:path';
import type { Target } from '../../contract/target.js';
import { integerOption, parseOptions } from '../cli/main.js';
import { TARGET_OPTIONS, openOptions, targetOptionsHelp } from '../cli/target-options.js';
import { REPORT_FILES } from '../conform/outputs.js';
import { RESULTS_FILE } from '../conform/records.js';
import { renderReport } from '../conform/terminal.js';
import { displayPath, loadCorpus } from '../corpus.js';
import { BadInput, KernelFailure, UsageError } from '../errors.js';
import { lockOutDir, prepareOutDir } from '../out-dir.js';
import { openTarget } from '../targets/open.js';
import { ARCHES, isArch } from '../../vm/paths.js';
import { DiffSetupError, kernelFault, runKernelDiff } from './run.js';

const DEFAULTS = { fuzz: 200, maxSteps: 20, out: 'out/diff', arch: 'x86_64' };

export const DIFF_HELP = `usage: mprog diff --base KERNEL --kernel KERNEL [--arch A] [--fuzz N] [--seed S]
                 [--max-steps M] [--out DIR] [--modules DIR] [--deadline MS] [CORPUS...]

Replay the corpus and N generated sequences on two kernels (the same sequences on both) and
report every step where they answer differently. Each difference is shrunk against the two
kernels to a minimal sequence, written to DIR with C and shell reproducers, and shown beside
what the emulator's profile for the base kernel answers: "behaviour changed" (the base answers
as the model does) or "model already wrong" (the model disagreed with the base already).

  --base KERNEL    the kernel to compare against: debian-X.Y, mprog-X.Y or an image path
                   (mprog kernel build prints one)
  --kernel KERNEL  the kernel under test, named the same ways
  --arch A         x86_64 (default) or arm64
  --fuzz N         generated sequences after the corpus (default ${DEFAULTS.fuzz}; 0: the corpus only)
  --seed S         the generator's seed (default: from the clock, printed)
  --max-steps M    steps per generated sequence at most (default ${DEFAULTS.maxSteps})
  --out DIR        results.jsonl, junit.xml, results.tap, summary.md and one directory per
                   difference (default ${DEFAULTS.out})
${targetOptionsHelp(19)}
  CORPUS           files or directories (default: test/sequences and corpus)

exit status: 0 no difference, 1 differences, 2 bad input or a kernel that cannot run,
             3 a kernel crashed or hung (its console log kept in DIR/console/)`;

export async function runDiffCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, {
    base: { type: 'string' },
    kernel: { type: 'string' },
    arch: { type: 'string', default: DEFAULTS.arch },
    fuzz: { type: 'string' },
    seed: { type: 'string' },
    'max-steps': { type: 'string' },
    out: { type: 'string', default: DEFAULTS.out },
    ...TARGET_OPTIONS,
  });
  if (!values.base || !values.kernel) throw new UsageError('diff needs --base KERNEL and --kernel KERNEL');
  if (!isArch(values.arch)) throw new UsageError(`--arch ${values.arch}: unknown architecture (known: ${ARCHES.join(', ')})`);
  const targetOptions = openOptions(values);
  const seed = integerOption('--seed', values.seed, -(2 ** 31)) ?? Date.now() % 2 ** 31;
  const fuzz = integerOption('--fuzz', values.fuzz, 0) ?? DEFAULTS.fuzz;
  const maxSteps = integerOption('--max-steps', values['max-steps'], 1) ?? DEFAULTS.maxSteps;
  const corpus = loadCorpus(positionals);
  if (corpus instanceof BadInput) throw corpus;
  const unwritable = prepareOutDir(values.out) ?? lockOutDir(values.out);
  if (unwritable) throw unwritable;

  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`diff: ${corpus.length} corpus sequences and ${fuzz} generated (seed ${seed}) on ${values.base} and ${values.kernel} (${values.arch})`);
  const targets: Target[] = [];
  try {
    const [base, kernel] = await Promise.all([values.base, values.kernel].map((k) => openTarget(`qemu:${k}:${values.arch}`, targetOptions)));
    targets.push(base!, kernel!);
    const done = await runKernelDiff({ base: base!, kernel: kernel!, baseName: values.base, kernelName: values.kernel, arch: values.arch, corpus, fuzz, seed, maxSteps, outDir: values.out, log });
    const files = [RESULTS_FILE, ...Object.values(REPORT_FILES)].map((f) => displayPath(resolve(values.out, f)));
    process.stdout.write(renderReport(done.report, files, process.stdout.columns ?? 100));
    return done.report.status;
  } catch (err) {
    if (err instanceof DiffSetupError) throw new BadInput(err.message, { cause: err });
    const fault = kernelFault(values.out, err);
    if (!fault) throw err;
    const name = fault.side === 'base' ? values.base : values.kernel;
    const consoleLog = fault.fault.console ? ` (console log: ${displayPath(resolve(values.out, fault.fault.console))})` : '';
    const which = fault.side === 'base' ? 'the base kernel' : 'the kernel under test';
    const message = `diff: ${which} ${name} cannot run: ${fault.fault.kind}: ${fault.fault.message}${consoleLog}`;
    throw new KernelFailure(message, fault.status === 3 ? 'crash' : 'unusable', { cause: err });
  } finally {
    await Promise.all(targets.map((t) => t.close().catch(() => undefined)));
  }
}
