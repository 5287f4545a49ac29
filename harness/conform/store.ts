// results.jsonl: the run's plan, then one line per finished pair, appended and flushed as each
// pair completes, so a killed run keeps everything it finished and `--resume` continues it.

import { accessSync, appendFileSync, constants, existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { dirname, join, resolve } from 'node:path';
import { atExit, pidAlive } from '../../vm/lifetime.js';
import { BadInput, type PlanRecord, RESULTS_FILE, RESULTS_FORMAT, type ResultRecord, type RunRecord, type TargetFaultRecord, pairKey } from './records.js';

export interface StoredRun {
  plan: PlanRecord;
  records: (ResultRecord | TargetFaultRecord)[];
}

/**
 * Reads DIR/results.jsonl. A last line without its newline is what a kill in the middle of a
 * write leaves: it is ignored (and cut off by `resume`), anything else malformed is bad input.
 */
export function readRun(dir: string): StoredRun | BadInput {
  const file = join(dir, RESULTS_FILE);
  if (!existsSync(file)) return new BadInput(`${dir}: no ${RESULTS_FILE} (not the output directory of mprog conform)`);
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop(); // after the last newline: empty, or a torn write
  const records: RunRecord[] = [];
  for (const [i, line] of lines.entries()) {
    try {
      records.push(JSON.parse(line) as RunRecord);
    } catch {
      return new BadInput(`${file}:${i + 1}: not a JSON line`);
    }
  }
  const [plan, ...rest] = records;
  if (plan?.type !== 'plan' || plan.format !== RESULTS_FORMAT) {
    return new BadInput(`${file}: the first line is not an ${RESULTS_FORMAT} plan`);
  }
  if (rest.some((r) => r.type === 'plan')) return new BadInput(`${file}: more than one plan`);
  return { plan, records: rest as StoredRun['records'] };
}

/**
 * mkdir -p, one level at a time: node's recursive mkdirSync spins forever where a directory
 * cannot be made for want of its parent's support (ENOENT under /proc).
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) missing.unshift(d);
  for (const d of missing) mkdirSync(d);
}

/** Makes the output directory, or says why it cannot be written. */
export function prepareOutDir(dir: string): BadInput | null {
  try {
    makeDirs(dir);
    accessSync(dir, constants.W_OK);
    return null;
  } catch (err) {
    return new BadInput(`--out ${dir}: cannot write there (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** The plan fields that must match for a resumed run to be the same run. */
function planDifference(old: PlanRecord, now: PlanRecord): string | null {
  if (!isDeepStrictEqual(old.targets, now.targets)) return 'targets (--kernel, --arch, --host)';
  if (!isDeepStrictEqual(old.shard, now.shard)) return '--shard';
  if (old.profile !== now.profile) return '--profile';
  if (!isDeepStrictEqual(old.sequences, now.sequences)) return 'the corpus (files added, removed or edited)';
  return null;
}

const LOCK_FILE = '.lock';
/** Output directories this process holds, each released at exit. */
const held = new Set<string>();

/**
 * Makes `dir` this process's until it exits, or says who has it: two runs appending to one
 * results.jsonl would interleave their records. A lock whose owner is gone (killed) is taken over.
 */
export function lockOutDir(dir: string): BadInput | null {
  const file = resolve(dir, LOCK_FILE);
  if (held.has(file)) return null;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      held.add(file);
      atExit(() => rmSync(file, { force: true }));
      return null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return new BadInput(`--out ${dir}: cannot lock it (${(err as NodeJS.ErrnoException).code})`);
    }
    const owner = Number(readFileSync(file, 'utf8').trim());
    if (owner > 0 && pidAlive(owner)) {
      return new BadInput(`--out ${dir}: another mprog conform or merge (pid ${owner}) is writing there; wait for it to end, or use another --out`);
    }
    rmSync(file, { force: true });
  }
  return new BadInput(`--out ${dir}: cannot lock it (${LOCK_FILE} keeps coming back)`);
}

export class ResultsStore {
  private constructor(
    readonly file: string,
    /** Records already in the file (on resume), in file order. */
    readonly previous: (ResultRecord | TargetFaultRecord)[],
  ) {}

  /** A new run: any earlier results in `dir` are replaced. */
  static create(dir: string, plan: PlanRecord): ResultsStore | BadInput {
    makeDirs(dir);
    const locked = lockOutDir(dir);
    if (locked) return locked;
    const file = join(dir, RESULTS_FILE);
    writeFileSync(file, `${JSON.stringify(plan)}\n`);
    return new ResultsStore(file, []);
  }

  /** Continues the run in `dir` if it has the same plan; starts one if `dir` has none. */
  static resume(dir: string, plan: PlanRecord): ResultsStore | BadInput {
    const file = join(dir, RESULTS_FILE);
    if (!existsSync(file)) return ResultsStore.create(dir, plan);
    const locked = lockOutDir(dir);
    if (locked) return locked;
    const stored = readRun(dir);
    if (stored instanceof BadInput) return stored;
    const differs = planDifference(stored.plan, plan);
    if (differs) {
      return new BadInput(`--resume: ${dir} holds a run with different ${differs}; run without --resume to start over, or use another --out`);
    }
    const text = readFileSync(file, 'utf8');
    truncateSync(file, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
    return new ResultsStore(file, stored.records);
  }

  /** Pairs already finished; target faults are not: the target gets another try. */
  finished(): Set<string> {
    return new Set(this.previous.filter((r) => r.type === 'result').map((r) => pairKey(r.sequence, r.target)));
  }

  /** One line, synchronously: once this returns the record survives a kill. */
  append(record: ResultRecord | TargetFaultRecord): void {
    appendFileSync(this.file, `${JSON.stringify(record)}\n`);
  }
}
