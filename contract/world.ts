// The world of a real kernel as the agent reports it (vm/agent/PROTOCOL.md "World"): what a
// kernel holds that a sequence does not make itself, and that its answers depend on. The
// emulator enters it (emulator/world.ts) to answer as that kernel does.

export interface OutsideProg {
  id: number;
  type: number;
}

export interface OutsideLink {
  id: number;
  /** enum bpf_link_type. */
  type: number;
  progId: number;
}

/** The programs one cgroup above the sequence's root holds for one attach type, in list order. */
export interface OutsideCgroupList {
  attachType: number;
  /** The list's mode: 0, BPF_F_ALLOW_OVERRIDE or BPF_F_ALLOW_MULTI. */
  flags: number;
  progIds: number[];
}

export interface KernelWorld {
  /** The kernel id of each of the sequence's programs, by name. */
  progIds: Record<string, number>;
  /** The id the link idr hands out next when the steps begin; 0: unknown (then the emulator's own). */
  nextLinkId: number;
  /** The id the kernel gave the link of each successful link_create step, by step index: other
   * processes may take ids between steps. */
  linkIds: Record<number, number>;
  /** Programs and links that exist outside the sequence. */
  progs: OutsideProg[];
  links: OutsideLink[];
  /** fds open in the sequence's process besides its objects' (none of them a bpf object). */
  fds: number[];
  /** CONFIG_NETKIT: without it netkit's bpf(2) entry points are stubs that answer EINVAL. */
  netkit: boolean;
  /** The cgroups above the sequence's private root, outermost (the hierarchy's root) first, each
   * with the lists that hold programs. Absent: the hierarchy's root alone, holding nothing. A
   * query does not tell whether a program was attached with BPF_F_PREORDER: these count as not. */
  cgroupAncestors?: OutsideCgroupList[][];
  /** kernel.unprivileged_bpf_disabled (0, 1 or 2), read from the kernel, never set; absent:
   * unknown (the emulator's default, 2: CONFIG_BPF_UNPRIV_DEFAULT_OFF). */
  unprivilegedBpfDisabled?: number;
  /** Whether the initial network namespace holds a flow dissector program (absent: it does not).
   * While it has one, no other namespace may attach one (EEXIST). */
  initNetFlowDissector?: boolean;
}
