// The records of a conformance run, as stored one per line in results.jsonl: the plan first,
// then one record per finished sequence x target pair (and one per target that could not be
// used). Every report (terminal, JUnit, TAP, Markdown, merge) is built from these alone.

import type { StepDivergence } from '../replay/step-diff.js';
import type { ExpectFailure } from '../replay/replay.js';
import type { Sequence, StepResult } from '../../contract/seq.js';
import type { TargetFaultKind } from '../../contract/target.js';

export const RESULTS_FORMAT = 'mprog-conform/1';
export const RESULTS_FILE = 'results.jsonl';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

/** One place the corpus is replayed on, besides the emulator. */
export interface TargetPlan {
  /** The openTarget() spec: `host`, `qemu:debian-6.12:x86_64`. */
  spec: string;
  /** What the user named: `host`, `debian-6.12` or a kernel image path. */
  kernel: string;
  arch: string;
}

/**
 * What a run compares, for its reports: conform a kernel (left) with the emulator (right);
 * mprog diff a base kernel with the kernel under test, the emulator's answer beside them.
 */
export interface Comparison {
  /** The command, for report titles. */
  command: string;
  /** The two sides of every divergence. */
  left: string;
  right: string;
  /** What answers beside them at a divergence (RecordedDivergence.reference), if anything does. */
  reference?: string;
  /** The verdicts of exit status 0 and 1. */
  same: string;
  differs: string;
}

export const CONFORM_COMPARISON: Comparison = {
  command: 'mprog conform',
  left: 'kernel',
  right: 'emulator',
  same: 'all agree',
  differs: 'divergences found',
};

export interface SequencePlan {
  /** The file as shown to the user (relative to the working directory); unique in a run. */
  key: string;
  name: string;
  steps: number;
  /** Of the parsed sequence: a resumed or merged run must have replayed the same content. */
  hash: string;
}

export interface PlanRecord {
  type: 'plan';
  format: typeof RESULTS_FORMAT;
  shard: Shard | null;
  /** The emulator profile forced for every target, or null: picked from each kernel's release. */
  profile: string | null;
  targets: TargetPlan[];
  sequences: SequencePlan[];
  /** Absent: conform's. */
  comparison?: Comparison;
}

/**
 * pass: all steps agree and every expect held; fail: a divergence or a failed expect; not-run:
 * the pair was never replayed (the run was interrupted, or its target stopped answering): neither
 * a failure nor a fault, and a run that has one is not finished.
 */
export type Outcome = 'pass' | 'fail' | 'unsupported' | 'error' | 'crash' | 'not-run';

/** Beyond the targets' own kinds: problems found by the conformance run itself. */
export type FaultKind = TargetFaultKind | 'model-gap' | 'no-profile' | 'not-run';

export interface Fault {
  kind: FaultKind;
  message: string;
  /** The saved console log, relative to the output directory. */
  console?: string;
}

export interface SideExpectFailure extends ExpectFailure {
  /** Whose result missed the expect. */
  side: 'kernel' | 'emulator';
}

/** A divergent step as recorded; mprog diff adds what the emulator answers there and what that means. */
export interface RecordedDivergence extends StepDivergence {
  /** The step as the sequence writes it, bpftool-like (step-text.ts callTexts). */
  call?: string;
  reference?: StepResult;
  /** What the reference says of the difference, in words. */
  verdict?: string;
}

export interface ResultRecord {
  type: 'result';
  sequence: string;
  name: string;
  target: string;
  /** The target kernel's release, when the target came up. */
  release: string | null;
  /** The emulator profile the kernel was compared with. */
  profile: string | null;
  /** Where the kernel came from (the exact Debian package version), when the target says. */
  origin?: string;
  outcome: Outcome;
  steps: number;
  /** left and right as the run's Comparison names them (conform: kernel, emulator). */
  divergences: RecordedDivergence[];
  expectFailures: SideExpectFailure[];
  fault?: Fault;
  /** Lines for people about the pair (mprog diff: where the difference was found, what was written). */
  notes?: string[];
  /** The commands that show it again (each target's `mprog replay`). */
  replay?: string[];
  /** Text shown whole with the pair (mprog diff: the minimal sequence). */
  blocks?: { title: string; text: string }[];
  ms: number;
  results?: { kernel: StepResult[]; emulator: StepResult[] };
  /** Each step as the sequence writes it (step-text.ts callTexts), kept with a failed pair's results for the HTML report. */
  calls?: string[];
}

/** A target that could not replay anything (it would not start, or no profile fits its kernel). */
export interface TargetFaultRecord {
  type: 'target-fault';
  target: string;
  release: string | null;
  fault: Fault;
}

export type RunRecord = PlanRecord | ResultRecord | TargetFaultRecord;

export function pairKey(sequence: string, target: string): string {
  return `${sequence}\u0000${target}`;
}

export function targetLabel(t: TargetPlan): string {
  return `${t.kernel} ${t.arch}`;
}

/**
 * How a target fault counts. Only a kernel that panicked or hung is a crash (exit 3); a guest
 * that never came up (bad image, QEMU refused it) or was still working at its deadline is an
 * error (exit 2).
 */
export function outcomeOfFault(kind: FaultKind): Outcome {
  if (kind === 'unsupported') return 'unsupported';
  if (kind === 'not-run') return 'not-run';
  if (kind === 'panic' || kind === 'hung' || kind === 'agent-lost') return 'crash';
  return 'error';
}

/** The record of a pair that got no answer: the fault is its result. */
export function faultRecord(seq: Sequence, tp: TargetPlan, release: string | null, profile: string | null, fault: Fault, ms: number): ResultRecord {
  return {
    type: 'result',
    sequence: seq.file,
    name: seq.name,
    target: tp.spec,
    release,
    profile,
    outcome: outcomeOfFault(fault.kind),
    steps: seq.steps.length,
    divergences: [],
    expectFailures: [],
    fault,
    ms,
  };
}
