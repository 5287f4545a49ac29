// What a conformance run will do: which sequences (after sharding) on which targets. Everything
// the user can get wrong is checked here, before any target starts, and comes back as BadInput.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Profile } from '../../emulator/profiles.js';
import { ARCHES, hostArch, isArch, repoRoot } from '../../vm/paths.js';
import { SeqError, parseSequenceFile } from '../seq/parse.js';
import type { Sequence } from '../seq/types.js';
import { BadInput, type PlanRecord, RESULTS_FORMAT, type SequencePlan, type Shard, type TargetPlan } from './records.js';

const DEFAULT_KERNELS = ['debian-6.12'];
const DEFAULT_ARCHES = ['x86_64'];
/** The shipped corpus, relative to the repository: selftest-derived and hand-written sequences. */
const DEFAULT_CORPUS = ['test/sequences', 'corpus'];

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

/** The file as the user should see it: relative to the working directory when below it. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel.split(sep).join('/');
}

function jsonFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(dir, f));
}

/** Every sequence file named by `paths` (directories searched recursively), or why not. */
function corpusFiles(paths: string[]): string[] | BadInput {
  const defaults = paths.length === 0;
  const roots = defaults ? DEFAULT_CORPUS.map((p) => join(repoRoot(), p)) : paths.map((p) => resolve(p));
  const files = new Set<string>();
  for (const root of roots) {
    if (!existsSync(root)) {
      if (defaults) continue; // a checkout may lack one of the shipped directories
      return new BadInput(`corpus ${displayPath(root)}: no such file or directory`);
    }
    try {
      for (const f of statSync(root).isDirectory() ? jsonFilesUnder(root) : [root]) files.add(f);
    } catch (err) {
      const { code, path } = err as NodeJS.ErrnoException;
      return new BadInput(`corpus ${displayPath(root)}: cannot read ${path ? displayPath(path) : 'it'} (${code ?? (err as Error).message})`);
    }
  }
  if (files.size === 0) return new BadInput(`no sequence files (*.json) in ${roots.map(displayPath).join(', ')}`);
  return [...files];
}

/** All files parsed; every bad one is reported, not just the first. */
function parseAll(files: string[]): Sequence[] | BadInput {
  const seqs: Sequence[] = [];
  const errors: string[] = [];
  for (const file of files) {
    try {
      seqs.push(parseSequenceFile(displayPath(file)));
    } catch (err) {
      if (!(err instanceof SeqError)) throw err;
      errors.push(err.message);
    }
  }
  return errors.length ? new BadInput(errors.join('\n')) : seqs.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** The sequences of `paths` (files, or directories searched recursively), sorted by file; or why not. */
export function loadCorpus(paths: string[]): Sequence[] | BadInput {
  const files = corpusFiles(paths);
  return files instanceof BadInput ? files : parseAll(files);
}

/** Round-robin over the key-sorted corpus: deterministic, and shards differ by at most one sequence. */
function inShard(seqs: Sequence[], shard: Shard | null): Sequence[] {
  return shard ? seqs.filter((_, i) => i % shard.count === shard.index - 1) : seqs;
}

function targetsOf(req: ConformRequest): TargetPlan[] | BadInput {
  const bad = req.arches.find((a) => !isArch(a));
  if (bad !== undefined) return new BadInput(`--arch ${bad}: unknown architecture (known: ${ARCHES.join(', ')})`);
  for (const k of req.kernels) {
    // Which Debian series (and sources) exist only the mirror knows: the target says so when it resolves one.
    if (!k.startsWith('debian-') && !k.startsWith('mprog-') && !existsSync(k)) {
      return new BadInput(
        `--kernel ${k}: neither a Debian series (debian-MAJOR.MINOR, e.g. debian-6.12), a kernel to build from Debian's source (mprog-6.12) nor an existing kernel image`,
      );
    }
  }
  const kernels = req.kernels.length === 0 && !req.host ? DEFAULT_KERNELS : req.kernels;
  const arches = req.arches.length === 0 ? DEFAULT_ARCHES : [...new Set(req.arches)];
  const targets: TargetPlan[] = req.host ? [{ spec: 'host', kernel: 'host', arch: hostArch() ?? process.arch }] : [];
  for (const kernel of new Set(kernels)) {
    for (const arch of arches) targets.push({ spec: `qemu:${kernel}:${arch}`, kernel, arch });
  }
  return targets;
}

function sequencePlan(seq: Sequence): SequencePlan {
  const { file: _where, ...content } = seq;
  const hash = createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 16);
  return { key: seq.file, name: seq.name, steps: seq.steps.length, hash };
}

export function makePlan(req: ConformRequest): Plan | BadInput {
  if (req.shard && !(req.shard.index >= 1 && req.shard.index <= req.shard.count)) {
    return new BadInput(`--shard ${req.shard.index}/${req.shard.count}: I must be from 1 to N`);
  }
  const targets = targetsOf(req);
  if (targets instanceof BadInput) return targets;
  const all = loadCorpus(req.corpus);
  if (all instanceof BadInput) return all;
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

/** `I/N`, as given to --shard. */
export function parseShard(text: string): Shard | BadInput {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m || Number(m[2]) < 1) return new BadInput(`--shard ${text}: expected I/N, e.g. 1/4`);
  return { index: Number(m[1]), count: Number(m[2]) };
}
