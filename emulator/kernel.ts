// The state of one emulated kernel as one process sees it: its fd table, the prog and link id
// spaces, the network namespace it runs in and the cgroups it made.

import { type AttachContext, mprogLinkOps } from './attach-point.js';
import { cgroupLinkOps } from './cgroup.js';
import { CgroupTree } from './cgroupfs.js';
import { FdTable } from './fdtable.js';
import { CyclicIdr } from './idr.js';
import type { BpfLink, BpfLinkOps } from './link.js';
import { Net } from './netdev.js';
import { type NetNs, NetnsBpf, netnsLinkOps } from './net-namespace.js';
import type { Profile } from './profiles.js';
import type { BpfProg } from './prog.js';
import type { Caller } from './capability.js';
import { ALL_CAPS } from '../uapi/capability.js';

/** Inode numbers of the two namespaces (proc_alloc_inum() hands out such numbers; the results name
 * the sequence's "self" whatever the number, and init_net's is never seen). */
const SEQUENCE_NETNS_INUM = 4026532300;
const INIT_NET_INUM = 4026531840;

export class Kernel implements AttachContext, Caller {
  readonly files = new FdTable();
  readonly progIdr = new CyclicIdr<BpfProg>();
  readonly linkIdr = new CyclicIdr<BpfLink>();
  readonly net = new Net();
  /** The sequence's network namespace (current->nsproxy->net_ns) as bpf(2) sees it, and init_net,
   * whose flow dissector (the world's) bars every other namespace from having one. */
  readonly netns: NetNs = { inum: SEQUENCE_NETNS_INUM, bpf: new NetnsBpf() };
  readonly initNet: NetNs = { inum: INIT_NET_INUM, bpf: new NetnsBpf() };
  /** bpf_netns_link_ops. */
  readonly netnsLinkOps: BpfLinkOps = netnsLinkOps(this);
  /** tcx_link_lops / netkit_link_lops (identical in shape; see attach-point.ts). */
  readonly mprogLinkOps: BpfLinkOps = mprogLinkOps(this);
  /** The cgroup v2 hierarchy: the sequence's private root below the hierarchy's root. */
  cgroups = new CgroupTree();
  /** bpf_cgroup_link_lops. */
  readonly cgroupLinkOps: BpfLinkOps = cgroupLinkOps(this);
  /** The effective capabilities of the process making the current call (default: root's). */
  caps: bigint = ALL_CAPS;
  /** kernel.unprivileged_bpf_disabled: 2 (CONFIG_BPF_UNPRIV_DEFAULT_OFF, Debian's and the
   * upstream default) unless the world says otherwise. */
  unprivilegedBpfDisabled = 2;

  /** `netkitBuilt`: CONFIG_NETKIT (only meaningful where the profile has netkit's attach types). */
  constructor(
    readonly profile: Profile,
    readonly netkitBuilt = profile.netkit,
  ) {}
}
