// results.jsonl: the run's plan, then one line per finished pair, appended and flushed as each
// pair completes, so a killed run keeps everything it finished and `--resume` continues it.

import { appendFileSync, existsSync, truncateSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { BadInput } from '../../contract/errors.js';
import { InputPathError, readInputFile } from '../../vm/runtime/input-files.js';
import { lockOutDir, makeDirs } from './out-dir.js';
import { type PlanRecord, RESULTS_FILE, RESULTS_FORMAT, type ResultRecord, type RunRecord, type TargetFaultRecord, pairKey } from './records.js';

/** A results.jsonl mprog reads back (resume, merge): far above a whole corpus on every kernel (~2 MiB each). */
const MAX_RESULTS_BYTES = 256 * 1024 * 1024;

/** The text of DIR/results.jsonl: a regular file within the bound, or a BadInput saying what it is. */
function resultsText(file: string): string {
  try {
    return readInputFile(file, MAX_RESULTS_BYTES, `a ${RESULTS_FILE}`).toString('utf8');
  } catch (err) {
    if (!(err instanceof InputPathError)) throw err;
    throw new BadInput(`${file}: cannot read it (${err.reason})`, { file, cause: err });
  }
}

export interface StoredRun {
  plan: PlanRecord;
  records: (ResultRecord | TargetFaultRecord)[];
}

/**
 * Reads DIR/results.jsonl. A last line without its newline is what a kill in the middle of a
 * write leaves: it is ignored (and cut off by `resume`), anything else malformed is a BadInput.
 */
export function readRun(dir: string): StoredRun {
  const file = join(dir, RESULTS_FILE);
  if (!existsSync(file)) throw new BadInput(`${dir}: no ${RESULTS_FILE} (not the output directory of mprog conform)`, { file: dir });
  const lines = resultsText(file).split('\n');
  lines.pop(); // after the last newline: empty, or a torn write
  const records: RunRecord[] = [];
  for (const [i, line] of lines.entries()) {
    try {
      records.push(JSON.parse(line) as RunRecord);
    } catch (err) {
      throw new BadInput(`${file}:${i + 1}: not a JSON line`, { file, cause: err });
    }
  }
  const [plan, ...rest] = records;
  if (plan?.type !== 'plan' || plan.format !== RESULTS_FORMAT) {
    throw new BadInput(`${file}: the first line is not an ${RESULTS_FORMAT} plan`, { file });
  }
  if (rest.some((r) => r.type === 'plan')) throw new BadInput(`${file}: more than one plan`, { file });
  return { plan, records: rest as StoredRun['records'] };
}

/** The plan fields that must match for a resumed run to be the same run. */
function planDifference(old: PlanRecord, now: PlanRecord): string | null {
  if (!isDeepStrictEqual(old.targets, now.targets)) return 'targets (--kernel, --arch, --host)';
  if (!isDeepStrictEqual(old.shard, now.shard)) return '--shard';
  if (old.profile !== now.profile) return '--profile';
  if (!isDeepStrictEqual(old.sequences, now.sequences)) return 'sequences (files of the corpus added, removed or edited)';
  return null;
}

export class ResultsStore {
  private constructor(
    readonly file: string,
    /** Records already in the file (on resume), in file order. */
    readonly previous: (ResultRecord | TargetFaultRecord)[],
  ) {}

  /** A new run: any earlier results in `dir` are replaced. */
  static create(dir: string, plan: PlanRecord): ResultsStore {
    makeDirs(dir);
    lockOutDir(dir);
    const file = join(dir, RESULTS_FILE);
    writeFileSync(file, `${JSON.stringify(plan)}\n`);
    return new ResultsStore(file, []);
  }

  /** Continues the run in `dir` if it has the same plan; starts one if `dir` has none. */
  static resume(dir: string, plan: PlanRecord): ResultsStore {
    const file = join(dir, RESULTS_FILE);
    if (!existsSync(file)) return ResultsStore.create(dir, plan);
    lockOutDir(dir);
    const stored = readRun(dir);
    const differs = planDifference(stored.plan, plan);
    if (differs) {
      throw new BadInput(`--resume: ${dir} holds a run with different ${differs}; run without --resume to start over, or use another --out`, {
        file,
      });
    }
    const text = resultsText(file);
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
