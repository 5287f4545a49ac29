// From a target spec on the command line to a Target.

import { DEFAULT_PROFILE } from '../../emulator/profiles.js';
import { EmulatorTarget } from './emulator.js';
import { HostTarget } from './host.js';
import { type Deadline, type Target, TargetError } from '../../contract/target.js';

export const TARGET_SPECS = 'emulator[:PROFILE], host, qemu:KERNEL:ARCH';

export interface OpenOptions {
  /** The modules directory of a kernel image given as `qemu:PATH:ARCH`. */
  modulesDir?: string;
  /** Per sequence, on a kernel target (default DEFAULT_DEADLINE). */
  deadline?: Deadline;
}

export async function openTarget(spec: string, opts: OpenOptions = {}): Promise<Target> {
  const [kind, ...rest] = spec.split(':');
  if (kind === 'emulator' && rest.length <= 1) return new EmulatorTarget(rest[0] || DEFAULT_PROFILE);
  if (kind === 'host' && rest.length === 0) return new HostTarget(opts.deadline);
  if (kind === 'qemu') {
    const { QemuTarget } = await import('./qemu.js');
    return new QemuTarget(spec, opts);
  }
  throw new TargetError('unusable', `unknown target "${spec}" (expected one of: ${TARGET_SPECS})`);
}
