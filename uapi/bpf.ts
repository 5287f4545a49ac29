// Constants of include/uapi/linux/bpf.h that the mprog paths use (values as in Linux 6.12).

/** enum bpf_map_type: the types a sequence can declare. */
export const BPF_MAP_TYPE = {
  ARRAY: 2,
  CGROUP_STORAGE: 19,
  PERCPU_CGROUP_STORAGE: 21,
} as const;
export type BpfMapType = (typeof BPF_MAP_TYPE)[keyof typeof BPF_MAP_TYPE];

export const BPF_PROG_TYPE = {
  UNSPEC: 0,
  SCHED_CLS: 3,
  XDP: 6,
  CGROUP_SKB: 8,
  CGROUP_SOCK: 9,
  SOCK_OPS: 13,
  SK_SKB: 14,
  CGROUP_DEVICE: 15,
  SK_MSG: 16,
  CGROUP_SOCK_ADDR: 18,
  LIRC_MODE2: 20,
  FLOW_DISSECTOR: 22,
  CGROUP_SYSCTL: 23,
  CGROUP_SOCKOPT: 25,
  TRACING: 26,
  LSM: 29,
  SK_LOOKUP: 30,
} as const;
export type BpfProgType = (typeof BPF_PROG_TYPE)[keyof typeof BPF_PROG_TYPE];

export const BPF_CGROUP_INET_INGRESS = 0;
export const BPF_CGROUP_INET_EGRESS = 1;
export const BPF_CGROUP_GETSOCKOPT = 21;
export const BPF_CGROUP_SETSOCKOPT = 22;
export const BPF_FLOW_DISSECTOR = 17;
export const BPF_SK_LOOKUP = 36;
export const BPF_TCX_INGRESS = 46;
export const BPF_TCX_EGRESS = 47;
export const BPF_NETKIT_PRIMARY = 54;
export const BPF_NETKIT_PEER = 55;

export const ATTACH_TYPE_NAMES: Record<string, number> = {
  cgroup_inet_ingress: BPF_CGROUP_INET_INGRESS,
  cgroup_inet_egress: BPF_CGROUP_INET_EGRESS,
  cgroup_getsockopt: BPF_CGROUP_GETSOCKOPT,
  cgroup_setsockopt: BPF_CGROUP_SETSOCKOPT,
  flow_dissector: BPF_FLOW_DISSECTOR,
  tcx_ingress: BPF_TCX_INGRESS,
  tcx_egress: BPF_TCX_EGRESS,
  netkit_primary: BPF_NETKIT_PRIMARY,
  netkit_peer: BPF_NETKIT_PEER,
};

export function attachTypeName(type: number): string | number {
  for (const [name, value] of Object.entries(ATTACH_TYPE_NAMES)) if (value === type) return name;
  return type;
}

export const BPF_LINK_TYPE_CGROUP = 3;
export const BPF_LINK_TYPE_NETNS = 5;
export const BPF_LINK_TYPE_TCX = 11;
export const BPF_LINK_TYPE_NETKIT = 13;

export const BPF_F_ALLOW_OVERRIDE = 1 << 0;
export const BPF_F_ALLOW_MULTI = 1 << 1;
export const BPF_F_REPLACE = 1 << 2;
export const BPF_F_BEFORE = 1 << 3;
export const BPF_F_AFTER = 1 << 4;
export const BPF_F_ID = 1 << 5;
export const BPF_F_PREORDER = 1 << 6;
export const BPF_F_LINK = 1 << 13;

export const FLAG_NAMES: Record<string, number> = {
  BPF_F_ALLOW_OVERRIDE,
  BPF_F_ALLOW_MULTI,
  BPF_F_REPLACE,
  BPF_F_BEFORE,
  BPF_F_AFTER,
  BPF_F_ID,
  BPF_F_PREORDER,
  BPF_F_LINK,
};

/** syscall.c: the flags BPF_PROG_ATTACH/DETACH accept for mprog attach types... */
export const BPF_F_ATTACH_MASK_MPROG = BPF_F_REPLACE | BPF_F_BEFORE | BPF_F_AFTER | BPF_F_ID | BPF_F_LINK;
/** ...and for the others (cgroup types take both masks). */
export const BPF_F_ATTACH_MASK_BASE = BPF_F_ALLOW_OVERRIDE | BPF_F_ALLOW_MULTI | BPF_F_REPLACE | BPF_F_PREORDER;

export const BPF_F_QUERY_EFFECTIVE = 1 << 0;

export const QUERY_FLAG_NAMES: Record<string, number> = { BPF_F_QUERY_EFFECTIVE };
