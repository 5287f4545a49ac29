// The state of one emulated kernel as one process sees it: its fd table, the prog and link id
// spaces, the network namespace it runs in and the cgroups it made.

import { type AttachContext, mprogLinkOps } from './attach-point.js';
import { cgroupLinkOps } from './cgroup.js';
import { CgroupTree } from './cgroupfs.js';
import { FdTable } from './fdtable.js';
import { CyclicIdr } from './idr.js';
import type { BpfLink, BpfLinkOps } from './link.js';
import { Net } from './netdev.js';
import type { Profile } from './profiles.js';
import type { BpfProg } from './prog.js';

export class Kernel implements AttachContext {
  readonly files = new FdTable();
  readonly progIdr = new CyclicIdr<BpfProg>();
  readonly linkIdr = new CyclicIdr<BpfLink>();
  readonly net = new Net();
  /** tcx_link_lops / netkit_link_lops (identical in shape; see attach-point.ts). */
  readonly mprogLinkOps: BpfLinkOps = mprogLinkOps(this);
  /** The cgroup v2 hierarchy: the sequence's private root below the hierarchy's root. */
  cgroups = new CgroupTree();
  /** bpf_cgroup_link_lops. */
  readonly cgroupLinkOps: BpfLinkOps = cgroupLinkOps(this);

  /** `netkitBuilt`: CONFIG_NETKIT (only meaningful where the profile has netkit's attach types). */
  constructor(
    readonly profile: Profile,
    readonly netkitBuilt = profile.netkit,
  ) {}
}
