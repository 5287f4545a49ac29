// The world lockstep (test/world-lockstep.ts) on the running kernel (needs root).

import { HostTarget } from '../../harness/targets/host.js';
import { describeWorldLockstep } from '../world-lockstep.js';

describeWorldLockstep('host', () => new HostTarget());
