// `npm run bench [-- --json] [--only PREFIX] [--patches PATH]... [--seed S]`: the project's goals, measured.
//   emulator_ops_per_s                 the emulator alone, fixed mix of calls
//   boot_s_<arch>                      spawning QEMU -> agent handshake (Debian 6.12 cloud kernel)
//   replay_ops_per_s_<arch>            bpf(2) calls/s replaying the selftest sequences through the agent
//   replay_checked_ops_per_s_<arch>    the same with bpftool run after every query (replay's default)
//   guest_raw_ops_per_s_<arch>         the same calls (the same sequences) run inside the guest, no host in the loop
//   replay_share_of_raw_<arch>         replay_ops_per_s / guest_raw_ops_per_s
//   guest_attach_detach_ops_per_s_<arch>  a bare attach+detach loop inside the guest (one call's ceiling)
//   conform_ops_per_s_<arch>           steps/s of conform on the shipped corpus, bpftool check on, guest booted
//   conform_share_of_raw_<arch>        conform_ops_per_s / guest_raw_ops_per_s, both of this run
//   conform_wall_s_default             `mprog conform` as a user runs it (warm cache, boot included)
//   conform_wall_s_matrix              the same on debian-6.12 and debian-7.3 x x86_64 and arm64, --jobs 2
//   fuzz_sequences_per_s               20-step generated sequences, emulator and one x86_64 VM on the
//                                      mprog-6.12 kernel (Debian's 6.12 source, kernel-configs/mprog.fragment)
//   fuzz_sequences_per_s_debian_6_12   the same on Debian's 6.12 cloud kernel
//   mutation_found / mutation_total    behaviour-changing kernel patches (test/patches/mutations/, or
//                                      --patches PATH...) that `mprog diff --fuzz 200` finds by fuzzing
//   mutation_false_positives           neutral patches it reports different (of mutation_neutral)
//   mutation_wall_s                    the whole group's wall time (builds and diffs)
//   kernel_line_coverage_<file>        share of an instrumented file's lines (branch_: branches) a
//   kernel_branch_coverage_<file>      coverage build of Debian's 6.12 (x86_64) ran with the shipped
//                                      corpus; _selftests: test/sequences alone; _fuzz_5m: fuzz --time 5m
// The mutation and kernel coverage groups run only when asked for (--only mutation, --only kernel_):
// they build kernels (one per patch; one with gcov) and take tens of minutes.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchQemu } from './vm.js';
import { repoRoot } from '../../vm/runtime/paths.js';
import { fuzzSequencesPerSecond } from './fuzz.js';
import { loadCorpus } from '../sequences/corpus.js';
import type { Sequence } from '../../contract/seq.js';
import { EXIT_BUG, EXIT_STATUS, MprogError, UsageError } from '../../contract/errors.js';
import { bugText, errorText } from '../errors.js';
import { QemuTarget } from '../targets/qemu.js';
import { conformRound, conformWallSeconds } from './conform.js';
import { benchEmulator } from './emulator.js';
import { kernelCoverageKeys, measureKernelCoverage } from './kernel-coverage.js';
import { MUTATIONS_DIR, MUTATION_SEED, loadMutations, outcomeLine, runMutation, score } from './mutation.js';

type Results = Record<string, number>;

/** What the command line gives a group besides --only. */
interface BenchArgs {
  json: boolean;
  /** --patches: the mutation group's patches (files or directories). */
  patches: string[];
  seed: number;
}

interface Group {
  /** The keys it measures, for --only. */
  keys: string[];
  /** Measured only when --only names it (it takes far longer than the rest). */
  onlyWhenAsked?: boolean;
  run: (out: Results, args: BenchArgs) => Promise<void>;
}

const GOALS: Record<string, string> = {
  emulator_ops_per_s: '>= 2,000,000',
  boot_s_x86_64: '<= 2.5',
  boot_s_arm64: '<= 4',
  replay_ops_per_s_x86_64: '>= 20,000',
  replay_ops_per_s_arm64: '>= 20,000',
  replay_share_of_raw_x86_64: '>= 0.5',
  replay_share_of_raw_arm64: '>= 0.5',
  fuzz_sequences_per_s: '>= 100',
  conform_share_of_raw_x86_64: '>= 0.5',
  conform_share_of_raw_arm64: '>= 0.5',
  conform_wall_s_default: '<= 10',
  mutation_found: '= mutation_total',
  mutation_false_positives: '= 0',
};

/** The selftest-derived sequences of test/sequences. */
function selftestSequences(): Sequence[] {
  return loadCorpus([join(repoRoot(), 'test/sequences')]);
}

const round = (n: number) => Math.round(n * 1000) / 1000;

function vmGroup(arch: 'x86_64' | 'arm64'): Group {
  return {
    keys: [
      `boot_s_${arch}`,
      `replay_ops_per_s_${arch}`,
      `replay_checked_ops_per_s_${arch}`,
      `guest_raw_ops_per_s_${arch}`,
      `replay_share_of_raw_${arch}`,
      `guest_attach_detach_ops_per_s_${arch}`,
      `conform_ops_per_s_${arch}`,
      `guest_raw_corpus_ops_per_s_${arch}`,
      `conform_share_of_raw_${arch}`,
    ],
    run: async (out) => {
      const b = await benchQemu({ arch, sequences: selftestSequences(), rounds: 4, conformRound: conformRound('debian-6.12', arch) });
      out[`boot_s_${arch}`] = round(b.bootSeconds);
      out[`replay_ops_per_s_${arch}`] = round(b.replay.perSecond);
      out[`replay_checked_ops_per_s_${arch}`] = round(b.checked.perSecond);
      out[`guest_raw_ops_per_s_${arch}`] = round(b.raw.perSecond);
      out[`replay_share_of_raw_${arch}`] = round(b.replay.perSecond / b.raw.perSecond);
      out[`guest_attach_detach_ops_per_s_${arch}`] = round(b.attachDetach.perSecond);
      const conform = b.conform!;
      out[`conform_ops_per_s_${arch}`] = round(conform.checked.perSecond);
      out[`guest_raw_corpus_ops_per_s_${arch}`] = round(conform.raw.perSecond);
      out[`conform_share_of_raw_${arch}`] = round(conform.checked.perSecond / conform.raw.perSecond);
    },
  };
}

/** Wall seconds of one `mprog conform` command line on `kernels` x `arches`. */
function wallGroup(key: string, kernels: string[], arches: string[], args: string[]): Group {
  const warm = kernels.flatMap((k) => arches.map((a) => `qemu:${k}:${a}`));
  return { keys: [key], run: async (out) => void (out[key] = round(await conformWallSeconds(args, warm))) };
}

/** Fuzzing speed against one x86_64 TCG VM booted with `kernel`. */
function fuzzGroup(key: string, kernel: string): Group {
  return {
    keys: [key],
    run: async (out) => {
      const target = new QemuTarget(`qemu:${kernel}:x86_64`);
      try {
        out[key] = round(await fuzzSequencesPerSecond(target, 20));
      } finally {
        await target.close();
      }
    },
  };
}

/** Each patch built and diffed in turn, a line per patch as it ends (on stderr with --json). */
const mutationGroup: Group = {
  keys: ['mutation_found', 'mutation_total', 'mutation_false_positives', 'mutation_neutral', 'mutation_wall_s'],
  onlyWhenAsked: true,
  run: async (out, args) => {
    const outcomes = [];
    for (const m of loadMutations(args.patches)) {
      const o = await runMutation(m, args.seed);
      outcomes.push(o);
      (args.json ? process.stderr : process.stdout).write(`${outcomeLine(o)}\n`);
    }
    const s = score(outcomes);
    out['mutation_found'] = s.found;
    out['mutation_total'] = s.total;
    out['mutation_false_positives'] = s.falsePositives;
    out['mutation_neutral'] = s.neutral;
    out['mutation_wall_s'] = round(s.seconds);
  },
};

const kernelCoverageGroup: Group = {
  keys: kernelCoverageKeys(),
  onlyWhenAsked: true,
  run: (out, args) => measureKernelCoverage(out, args.seed),
};

const GROUPS: Group[] = [
  { keys: ['emulator_ops_per_s'], run: async (out) => void (out['emulator_ops_per_s'] = round(benchEmulator(3).opsPerSecond)) },
  vmGroup('x86_64'),
  vmGroup('arm64'),
  fuzzGroup('fuzz_sequences_per_s', 'mprog-6.12'),
  fuzzGroup('fuzz_sequences_per_s_debian_6_12', 'debian-6.12'),
  wallGroup('conform_wall_s_default', ['debian-6.12'], ['x86_64'], []),
  wallGroup(
    'conform_wall_s_matrix',
    ['debian-6.12', 'debian-7.3'],
    ['x86_64', 'arm64'],
    ['--kernel', 'debian-6.12,debian-7.3', '--arch', 'x86_64,arm64', '--jobs', '2'],
  ),
  mutationGroup,
  kernelCoverageGroup,
];

/** The longest key and a space: the terminal's columns line up. */
const KEY_WIDTH = Math.max(...GROUPS.flatMap((g) => g.keys).map((k) => k.length)) + 1;

async function measure(argv: string[]): Promise<number> {
  let values: { json: boolean; only?: string | undefined; patches?: string[] | undefined; seed?: string | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean', default: false },
        only: { type: 'string' },
        patches: { type: 'string', multiple: true },
        seed: { type: 'string' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const seed = values.seed === undefined ? MUTATION_SEED : Number(values.seed);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed ${values.seed}: not an integer`);
  const args: BenchArgs = { json: values.json, patches: values.patches ?? [join(repoRoot(), MUTATIONS_DIR)], seed };
  const results: Results = {};
  for (const group of GROUPS) {
    const asked = values.only !== undefined && group.keys.some((k) => k.startsWith(values.only!));
    if (values.only ? !asked : group.onlyWhenAsked) continue;
    await group.run(results, args);
    if (values.json) continue;
    for (const key of group.keys) {
      process.stdout.write(
        `${key.padEnd(KEY_WIDTH)} ${results[key]!.toLocaleString('en-US').padStart(14)}${GOALS[key] ? `   (goal ${GOALS[key]})` : ''}\n`,
      );
    }
  }
  if (values.json) process.stdout.write(`${JSON.stringify(results)}\n`);
  return 0;
}

/** `npm run bench`: an MprogError is said as mprog says it (exit 2 or 3); anything else is a bug (exit 70, with its stack). */
export async function main(argv: string[]): Promise<number> {
  try {
    return await measure(argv);
  } catch (err) {
    if (!(err instanceof MprogError)) {
      process.stderr.write(bugText(err));
      return EXIT_BUG;
    }
    process.stderr.write(errorText(err, 'bench'));
    return EXIT_STATUS[err.exitClass];
  }
}
