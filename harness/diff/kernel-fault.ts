// Which of mprog diff's two kernels gave no answer, and whether the other did: a crash of one
// kernel alone is a finding; a fault of either otherwise ends that sequence's comparison.

import { TargetError } from '../../contract/target.js';

export type Side = 'base' | 'kernel';

/** Which kernel a fault came from, and whether the other one answered. */
export class KernelFault extends Error {
  constructor(
    readonly side: Side,
    override readonly cause: unknown,
    readonly otherAnswered = false,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }

  /** A crash or hang of this kernel alone (the other answered): a finding, shrunk as a difference is. */
  get crashAlone(): TargetError | null {
    const c = this.cause;
    return this.otherAnswered && c instanceof TargetError && (c.exitClass === 'crash' || c.kind === 'timeout') ? c : null;
  }
}

/** `promise`, its rejection a KernelFault of `side`. */
export function onSide<T>(side: Side, promise: Promise<T>): Promise<T> {
  return promise.catch((err: unknown) => Promise.reject(err instanceof KernelFault ? err : new KernelFault(side, err)));
}
