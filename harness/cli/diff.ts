// `mprog diff --base KERNEL --kernel KERNEL [--arch A] [--fuzz N] [--seed S] [--max-steps M]
//  [--out DIR] [--modules DIR] [--deadline MS] [CORPUS...]`

import { join, resolve } from 'node:path';
import type { Target } from '../../contract/target.js';
import { archOption, integerOption, parseOptions } from './options.js';
import { TARGET_OPTIONS, openOptions, targetOptionsHelp } from './target-options.js';
import { REPORT_FILES } from '../results/writers/files.js';
import { RESULTS_FILE } from '../results/records.js';
import { renderReport } from '../results/writers/terminal.js';
import { colourOn } from '../colour.js';
import { displayPath, loadCorpus } from '../sequences/corpus.js';
import { KernelFailure, UsageError } from '../../contract/errors.js';
import { lockOutDir, prepareOutDir } from '../results/out-dir.js';
import { openTarget } from '../targets/open.js';
import { appendCoverageSummary, coverageLines, coverageOfClosed } from '../coverage/report.js';
import { checkKernelLabel } from '../../vm/guest/boot-kernel.js';
import { kernelFault, runKernelDiff } from '../diff/run.js';

const DEFAULTS = { fuzz: 200, maxSteps: 20, out: 'out/diff', arch: 'x86_64' };

export const DIFF_HELP = `usage: mprog diff --base KERNEL --kernel KERNEL [--arch A] [--fuzz N] [--seed S]
                 [--max-steps M] [--out DIR] [--verbose] [--modules DIR] [--deadline MS] [CORPUS...]

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
                   difference (default ${DEFAULTS.out}); for a coverage kernel (mprog kernel
                   build --coverage) also coverage.info and coverage/ (HTML; when both
                   kernels are: coverage-<side>.info and coverage-<side>/ each)
  --verbose        every differing step of a sequence (default: the first, the rest counted)
${targetOptionsHelp(19)}
  CORPUS           files or directories (default: test/sequences and corpus)

short forms: -k --kernel, -a --arch, -o --out

exit status: 0 no difference, 1 differences, 2 bad input or a kernel that cannot run,
             3 a kernel crashed or hung (its console log kept in DIR/console/)`;

export async function runDiffCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, {
    base: { type: 'string' },
    kernel: { type: 'string', short: 'k' },
    arch: { type: 'string', short: 'a', default: DEFAULTS.arch },
    fuzz: { type: 'string' },
    seed: { type: 'string' },
    'max-steps': { type: 'string' },
    out: { type: 'string', short: 'o', default: DEFAULTS.out },
    verbose: { type: 'boolean', default: false },
    ...TARGET_OPTIONS,
  });
  if (!values.base || !values.kernel) throw new UsageError('diff needs --base KERNEL and --kernel KERNEL');
  // Both refused at once when either cannot be a kernel: preparing the base may take minutes.
  for (const label of [values.base, values.kernel]) checkKernelLabel(label);
  const arch = archOption(values.arch);
  const targetOptions = openOptions(values);
  const seed = integerOption('--seed', values.seed, -(2 ** 31)) ?? Date.now() % 2 ** 31;
  const fuzz = integerOption('--fuzz', values.fuzz, 0) ?? DEFAULTS.fuzz;
  const maxSteps = integerOption('--max-steps', values['max-steps'], 1) ?? DEFAULTS.maxSteps;
  const corpus = loadCorpus(positionals);
  prepareOutDir(values.out);
  lockOutDir(values.out);

  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`diff: ${corpus.length} corpus sequences and ${fuzz} generated (seed ${seed}) on ${values.base} and ${values.kernel} (${arch})`);
  const targets: Target[] = [];
  try {
    const [base, kernel] = await Promise.all([values.base, values.kernel].map((k) => openTarget(`qemu:${k}:${arch}`, targetOptions)));
    targets.push(base!, kernel!);
    const done = await runKernelDiff({
      base: base!,
      kernel: kernel!,
      baseName: values.base,
      kernelName: values.kernel,
      arch,
      corpus,
      fuzz,
      seed,
      maxSteps,
      outDir: values.out,
      log,
    });
    // A coverage kernel's counters are read as its guest stops: both stopped first.
    await Promise.all(targets.map((t) => t.close()));
    const coverage = await coverageOfClosed(values.out, [
      { name: `base ${values.base}`, target: base! },
      { name: `kernel ${values.kernel}`, target: kernel! },
    ]);
    appendCoverageSummary(join(values.out, REPORT_FILES.markdown), coverage);
    for (const c of coverage) process.stdout.write(`${coverageLines(c).join('\n')}\n`);
    const files = [RESULTS_FILE, ...Object.values(REPORT_FILES)].map((f) => displayPath(resolve(values.out, f)));
    process.stdout.write(
      renderReport(done.report, files, { width: process.stdout.columns ?? 100, verbose: values.verbose, colour: colourOn(process.stdout) }),
    );
    return done.report.status;
  } catch (err) {
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
