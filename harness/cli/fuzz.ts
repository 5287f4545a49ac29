// `mprog fuzz --target TARGET [--seed S] [--sequences N] [--max-steps M] [--time T] [--out DIR] [--profile P]
//  [--modules DIR] [--deadline MS]`

import { dirname } from 'node:path';
import { integerOption, parseOptions, profileOption } from './options.js';
import { coverageLines, coverageOfClosed } from '../coverage/report.js';
import { UsageError } from '../../contract/errors.js';
import { targetFailure } from '../errors.js';
import { TARGET_OPTIONS, openOptions, targetOptionsHelp } from './target-options.js';
import { lockOutDir, prepareOutDir } from '../results/out-dir.js';
import { openTarget } from '../targets/open.js';
import type { Target } from '../../contract/target.js';
import { fuzz } from '../fuzz/run.js';

const DEFAULTS = { sequences: 1000, maxSteps: 20, out: 'out/fuzz' };

export const FUZZ_HELP = `usage: mprog fuzz --target TARGET [--seed S] [--sequences N] [--max-steps M] [--time T]
                  [--out DIR] [--profile P] [--modules DIR] [--deadline MS]

Generate sequences, replay each on TARGET and on the emulator, and on the first divergence
shrink it and write the minimal sequence with C and shell reproducers to DIR.

  --target TARGET  emulator[:PROFILE], host, qemu:KERNEL:ARCH (e.g. qemu:mprog-6.12:x86_64)
  --seed S         the generator's seed (default: from the clock, printed)
  --sequences N    how many sequences (default 1000; with --time and no --sequences: no limit)
  --max-steps M    steps per sequence at most (default 20)
  --time T         stop after T (90, 90s, 5m, 1h) even if N sequences are not done
  --out DIR        where findings and coverage.json (the generator's choices) go (default
                   out/fuzz); on a coverage kernel (qemu:IMAGE of mprog kernel build --coverage)
                   also coverage.info and coverage/index.html: the kernel lines the run reached
  --profile P      the emulator profile (default: from the target's kernel release)
${targetOptionsHelp(19)}

short forms: -t --target, -o --out

exit status: 0 no divergence, 1 a divergence (reproducers written), 2 bad input or unusable target,
             3 a sequence crashed or hung the kernel (shrunk; reproducers and console written),
             4 only flaky divergences: each seen once, not when its sequence was replayed again`;

/** --time: seconds, or a number with s, m or h. */
function durationOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)([smh]?)$/.exec(value);
  if (!m) throw new UsageError(`--time must be a duration such as 90, 90s, 5m or 1h, not "${value}"`);
  return Number(m[1]) * { '': 1000, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as '' | 's' | 'm' | 'h'];
}

export async function runFuzz(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, {
    target: { type: 'string', short: 't' },
    seed: { type: 'string' },
    sequences: { type: 'string' },
    'max-steps': { type: 'string' },
    time: { type: 'string' },
    out: { type: 'string', short: 'o' },
    profile: { type: 'string' },
    ...TARGET_OPTIONS,
  });
  if (!values.target) throw new UsageError('fuzz needs --target');
  const targetOptions = openOptions(values);
  if (positionals.length > 0) throw new UsageError(`fuzz takes no FILE arguments (got ${positionals.join(' ')})`);
  const profile = profileOption(values.profile);
  // A run without --seed still gets one, printed, so it can be repeated.
  const seed = integerOption('--seed', values.seed, -(2 ** 31)) ?? Date.now() % 2 ** 31;
  const options = {
    seed,
    // --time alone means "until the time is up", not the default count.
    sequences: integerOption('--sequences', values.sequences, 1) ?? (values.time === undefined ? DEFAULTS.sequences : Infinity),
    maxSteps: integerOption('--max-steps', values['max-steps'], 1) ?? DEFAULTS.maxSteps,
    timeMs: durationOption(values.time),
    outDir: values.out ?? DEFAULTS.out,
    ...(profile && { profile }),
    log: (line: string) => process.stderr.write(`${line}\n`),
  };

  // Checked before the run: the findings are written only at its end.
  prepareOutDir(options.outDir);
  lockOutDir(options.outDir); // no other run (a conform, another fuzz) writes there meanwhile

  let target: Target | undefined;
  try {
    target = await openTarget(values.target, targetOptions);
    const report = await fuzz({ target, ...options });
    if (report.crash) {
      const c = report.crash;
      process.stdout.write(
        `crash: sequence ${c.index} of seed ${seed} ${c.kind === 'hung' ? 'hangs' : 'crashes'} the kernel (${c.kind}: ${c.message}), shrunk to ${c.minimal.steps.length} steps; written:\n${c.files.map((f) => `  ${f}`).join('\n')}\n` +
          (c.shellNote ? `${c.shellNote}\n` : ''),
      );
      return 3;
    }
    const flaky = report.flaky
      .map((f) => `flaky: sequence ${f.index} diverged once, not when replayed again${f.files[0] ? `: ${dirname(f.files[0])}` : ''}\n`)
      .join('');
    if (!report.divergence) {
      process.stdout.write(`${flaky}no divergence in ${report.sequences} sequences (seed ${seed}); coverage in ${options.outDir}/coverage.json\n`);
      return report.flaky.length ? 4 : 0;
    }
    const d = report.divergence;
    process.stdout.write(
      `${flaky}divergence: sequence ${d.index} of seed ${seed}, shrunk to ${d.minimal.steps.length} steps; written:\n${d.files.map((f) => `  ${f}`).join('\n')}\n` +
        (d.shellNote ? `${d.shellNote}\n` : ''),
    );
    return 1;
  } catch (err) {
    throw targetFailure(values.target, err);
  } finally {
    await target?.close();
    // A coverage kernel's report of what the run (shrinking included) made it run.
    if (target)
      for (const r of await coverageOfClosed(options.outDir, [{ name: values.target, target }]))
        process.stdout.write(`${coverageLines(r).join('\n')}\n`);
  }
}
