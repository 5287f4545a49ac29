import { type ExitClass, MprogError, UsageError } from './errors.js';
import type { KernelWorld } from './world.js';
import type { RawSequenceResult, Sequence } from './seq.js';
import type { KernelCounters } from './coverage.js';

/** How long a settle may take: the agent waits up to 10 s for each held program (16 namespaces' worth). */
export const SETTLE_DEADLINE_MS = 120_000;

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

/** `--deadline BASE[,STEP[,QUERY]]` (milliseconds; the parts not given keep their defaults); a UsageError says why not. */
export function parseDeadline(text: string): Deadline {
  const parts = text.split(',');
  if (parts.length > 3 || !parts.every((p) => /^\d+$/.test(p) && Number.isSafeInteger(Number(p)))) {
    throw new UsageError(`--deadline ${text}: expected BASE[,STEP[,QUERY]] in milliseconds, e.g. 60000 or 60000,20,200`);
  }
  const [baseMs, perStepMs, perQueryMs] = parts.map(Number);
  if (baseMs === 0) throw new UsageError(`--deadline ${text}: the base must be more than 0 ms`);
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
  /** Lets the objects of finished sequences go now (the agent holds their namespaces for a while), so that the next sequence meets none of them. */
  settle?(): Promise<void>;
  /** The tail of the kernel's console as it stands, for a target that has one (a VM). */
  console?(): string | null;
  /** A coverage kernel's counters, gathered from each guest as it ends (after close: all of them); null for any other kernel. */
  coverage?(): Promise<KernelCounters | null>;
  close(): Promise<void>;
}

/** Why a target could not answer. `kind` lets a report say what happened without parsing text. */
export type TargetFaultKind =
  | 'unusable' // cannot be used here at all (missing privileges, tools, unknown kernel)
  | 'unsupported' // the kernel lacks the feature (e.g. no tcx)
  | 'boot-fail'
  | 'panic'
  | 'timeout' // no answer in time from a guest or agent that is still working
  | 'hung' // no answer in time, and the guest shows it stopped working (lockup, stall, idle)
  | 'agent-error' // the agent answered FAIL, or something the protocol does not allow
  | 'agent-lost' // the agent's channel closed after the handshake: the agent (or its guest) died
  | 'harness-fault'; // the harness's own cross-checks disagree (e.g. agent vs bpftool)

/** The faults that are a kernel's crash: exit 3 where a command stops on one (README). */
const CRASHES: readonly TargetFaultKind[] = ['panic', 'hung', 'agent-lost'];

/**
 * A target's fault. Where a command stops on one (rather than recording it, as conform does),
 * its exit class is `crash` for a panic, a hang or a lost agent, else `unusable`; its console
 * tail, when there is one, is printed after the message.
 */
export class TargetError extends MprogError {
  override name = 'TargetError';
  readonly exitClass: ExitClass;

  constructor(
    readonly kind: TargetFaultKind,
    message: string,
    /** The tail of the guest console, when there is one. */
    readonly console?: string,
    cause?: unknown,
  ) {
    super(message, { ...(console && { detail: `--- console (tail) ---\n${console}` }), cause });
    this.exitClass = CRASHES.includes(kind) ? 'crash' : 'unusable';
  }
}
