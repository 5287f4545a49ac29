// The world lockstep (test/world-lockstep.ts) on the mprog-6.12 kernel, built here from Debian's
// 6.12 source (once, then cached), in QEMU.

import { QemuTarget } from '../../harness/targets/qemu.js';
import { describeWorldLockstep } from '../world-lockstep.js';

describeWorldLockstep('qemu:mprog-6.12:x86_64', () => new QemuTarget('qemu:mprog-6.12:x86_64'));
