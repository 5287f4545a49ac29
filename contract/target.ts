import type { KernelWorld } from '../emulator/world.js';
import type { RawSequenceResult, Sequence } from './seq.js';

export interface RunOptions {
  /** Compare every query with `bpftool net show` where the target can (default true). */
  crossCheck?: boolean;
  /** The emulator: the world of the kernel it is compared with (default: a freshly booted one). */
  world?: KernelWorld;
}

/**
 * How long a kernel target may take for one sequence: a base (setup: namespace, devices,
 * program loads) plus a share per step and per query checked with bpftool. A fixed limit would
 * call a long, healthy sequence a hang.
 */
export interface Deadline {
  baseMs: number;
  perStepMs: number;
  perQueryMs: number;
}

/**
 * About 7x what a debian-6.12 guest under TCG on a 2-core machine needs (bpftool: ~30 ms per
 * query; a step: well under 10 ms), so a loaded CI machine stays within it.
 */
export const DEFAULT_DEADLINE: Deadline = { baseMs: 60_000, perStepMs: 20, perQueryMs: 200 };

/** `--deadline BASE[,STEP[,QUERY]]` (milliseconds; the parts not given keep their defaults), or why not. */
export function parseDeadline(text: string): Deadline | string {
  const parts = text.split(',');
  if (parts.length > 3 || !parts.every((p) => /^\d+$/.test(p) && Number.isSafeInteger(Number(p)))) {
    return `--deadline ${text}: expected BASE[,STEP[,QUERY]] in milliseconds, e.g. 60000 or 60000,20,200`;
  }
  const [baseMs, perStepMs, perQueryMs] = parts.map(Number);
  if (baseMs === 0) return `--deadline ${text}: the base must be more than 0 ms`;
  return { baseMs: baseMs!, perStepMs: perStepMs ?? DEFAULT_DEADLINE.perStepMs, perQueryMs: perQueryMs ?? DEFAULT_DEADLINE.perQueryMs };
}

/**
 * One place sequences can be replayed: the emulator, the running kernel, or a kernel in QEMU.
 * A target replays each sequence in a fresh network namespace with fresh fds.
 */
export interface Target {
  /** As given on the command line: `emulator:6.12`, `host`, `qemu:debian-6.12:x86_64`. */
  readonly spec: string;
  /** The kernel release (`uname -r`) or, for the emulator, `emulator:<profile>`. */
  kernel(): Promise<string>;
  run(seq: Sequence, opts?: RunOptions): Promise<RawSequenceResult>;
  /** Where the kernel came from, when that is more than its release: e.g. the exact Debian
   * package and version, or the image file. */
  origin?(): Promise<string>;
  close(): Promise<void>;
}

/** Why a target could not answer. `kind` lets a report say what happened without parsing text. */
export type TargetFaultKind =
  | 'unusable'      // cannot be used here at all (missing privileges, tools, unknown kernel)
  | 'unsupported'   // the kernel lacks the feature (e.g. no tcx)
  | 'boot-fail'
  | 'panic'
  | 'timeout'       // no answer in time from a guest or agent that is still working
  | 'hung'          // no answer in time, and the guest shows it stopped working (lockup, stall, idle)
  | 'agent-error'   // the agent answered FAIL, or something the protocol does not allow
  | 'agent-lost'    // the agent's channel closed after the handshake: the agent (or its guest) died
  | 'harness-fault'; // the harness's own cross-checks disagree (e.g. agent vs bpftool)

export class TargetError extends Error {
  constructor(
    readonly kind: TargetFaultKind,
    message: string,
    /** The tail of the guest console, when there is one. */
    readonly console?: string,
  ) {
    super(message);
    this.name = 'TargetError';
  }
}
