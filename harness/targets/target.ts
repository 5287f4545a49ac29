import type { KernelWorld } from '../../emulator/world.js';
import type { RawSequenceResult, Sequence } from '../seq/types.js';

export interface RunOptions {
  /** Compare every query with `bpftool net show` where the target can (default true). */
  crossCheck?: boolean;
  /** The emulator: the world of the kernel it is compared with (default: a freshly booted one). */
  world?: KernelWorld;
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
  | 'timeout'
  | 'agent-error'
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
