// What a conformance run will do: which sequences (after sharding) on which targets. Everything
// the user can get wrong is checked here, before any target starts, and thrown as a BadInput.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Sequence } from '../../contract/seq.js';
import type { Profile } from '../../emulator/profiles.js';
import { ARCH_NAMES, archNamed, hostArch } from '../../vm/runtime/paths.js';
import { loadCorpus } from '../sequences/corpus.js';
import { BadInput, UsageError } from '../../contract/errors.js';
import { type PlanRecord, RESULTS_FORMAT, type SequencePlan, type Shard, type TargetPlan } from '../results/records.js';

const DEFAULT_KERNELS = ['debian-6.12'];
const DEFAULT_ARCHES = ['x86_64'];

/** What the user asked for, independent of how (CLI flags or a test). */
export interface ConformRequest {
  /** Files or directories (searched for *.json); empty: the shipped corpus. */
  corpus: string[];
  /** `debian-X.Y` or kernel image paths; empty (and no host): DEFAULT_KERNELS. */
  kernels: string[];
  /** For `kernels`; empty: DEFAULT_ARCHES. */
  arches: string[];
  host: boolean;
  shard: Shard | null;
  /** Forces the emulator profile for every target (tests pass mutants here); null: by release. */
  profile: Profile | null;
}

export interface Plan {
  record: PlanRecord;
  /** The shard's sequences, in key order, index-aligned with record.sequences. */
  sequences: Sequence[];
}

/** Round-robin over the key-sorted corpus: deterministic, and shards differ by at most one sequence. */
function inShard(seqs: Sequence[], shard: Shard | null): Sequence[] {
  return shard ? seqs.filter((_, i) => i % shard.count === shard.index - 1) : seqs;
}

function targetsOf(req: ConformRequest): TargetPlan[] {
  const bad = req.arches.find((a) => !archNamed(a));
  if (bad !== undefined) throw new BadInput(`--arch ${bad}: unknown architecture (known: ${ARCH_NAMES})`);
  for (const k of req.kernels) {
    // Which Debian series (and sources) exist only the mirror knows: the target says so when it resolves one.
    if (!k.startsWith('debian-') && !k.startsWith('mprog-') && !k.startsWith('kernel.org-') && !existsSync(k)) {
      throw new BadInput(
        `--kernel ${k}: neither a Debian series (debian-MAJOR.MINOR, e.g. debian-6.12), a kernel to build from Debian's source (mprog-6.12) or from kernel.org (kernel.org-6.6, kernel.org-6.6.87, kernel.org-mainline) nor an existing kernel image`,
      );
    }
  }
  const kernels = req.kernels.length === 0 && !req.host ? DEFAULT_KERNELS : req.kernels;
  const arches = req.arches.length === 0 ? DEFAULT_ARCHES : [...new Set(req.arches.map((a) => archNamed(a)!))];
  const targets: TargetPlan[] = req.host ? [{ spec: 'host', kernel: 'host', arch: hostArch() ?? process.arch }] : [];
  for (const kernel of new Set(kernels)) {
    for (const arch of arches) targets.push({ spec: `qemu:${kernel}:${arch}`, kernel, arch });
  }
  return targets;
}

/** What a plan records of a sequence: its key, name, length and a hash of its content. */
export function sequencePlan(seq: Sequence): SequencePlan {
  const { file: _where, ...content } = seq;
  const hash = createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 16);
  return { key: seq.file, name: seq.name, steps: seq.steps.length, hash };
}

/** The plan of `req`; a BadInput says what the user got wrong. */
export function makePlan(req: ConformRequest): Plan {
  if (req.shard && !(req.shard.index >= 1 && req.shard.index <= req.shard.count)) {
    throw new BadInput(`--shard ${req.shard.index}/${req.shard.count}: I must be from 1 to N`);
  }
  const targets = targetsOf(req);
  const all = loadCorpus(req.corpus);
  const sequences = inShard(all, req.shard);
  return {
    record: {
      type: 'plan',
      format: RESULTS_FORMAT,
      shard: req.shard,
      profile: req.profile?.name ?? null,
      targets,
      sequences: sequences.map(sequencePlan),
    },
    sequences,
  };
}

/** `I/N`, as given to --shard; a UsageError when it is not. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m || Number(m[2]) < 1) throw new UsageError(`--shard ${text}: expected I/N, e.g. 1/4`);
  return { index: Number(m[1]), count: Number(m[2]) };
}
