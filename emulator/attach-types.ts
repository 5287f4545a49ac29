// attach_type_to_prog_type() and its friends in kernel/bpf/syscall.c: which program type an
// attach type takes, and which families the syscalls route to. tcx, netkit and cgroups are
// modelled beyond this routing; the others are answered as far as their common checks go.

import type { BpfProg } from './prog.js';
import type { Profile } from './profiles.js';
import { BPF_NETKIT_PEER, BPF_NETKIT_PRIMARY, BPF_PROG_TYPE, BPF_TCX_EGRESS, BPF_TCX_INGRESS, type BpfProgType } from '../uapi/bpf.js';
import { EINVAL, EPERM } from '../uapi/errno.js';
import { type Caller, netAdminCapable } from './capability.js';

const P = BPF_PROG_TYPE;

/** enum bpf_attach_type -> the program type attach_type_to_prog_type() returns (7.2 numbering,
 * which only ever appends); absent means BPF_PROG_TYPE_UNSPEC. */
const PROG_TYPE_OF: Record<number, BpfProgType> = {
  0: P.CGROUP_SKB,
  1: P.CGROUP_SKB, // CGROUP_INET_INGRESS/EGRESS
  2: P.CGROUP_SOCK,
  12: P.CGROUP_SOCK,
  13: P.CGROUP_SOCK,
  34: P.CGROUP_SOCK, // SOCK_CREATE, POST_BIND, SOCK_RELEASE
  3: P.SOCK_OPS,
  4: P.SK_SKB,
  5: P.SK_SKB,
  38: P.SK_SKB, // STREAM_PARSER, STREAM_VERDICT, SK_SKB_VERDICT
  6: P.CGROUP_DEVICE,
  7: P.SK_MSG,
  8: P.CGROUP_SOCK_ADDR,
  9: P.CGROUP_SOCK_ADDR,
  10: P.CGROUP_SOCK_ADDR,
  11: P.CGROUP_SOCK_ADDR, // BIND, CONNECT
  14: P.CGROUP_SOCK_ADDR,
  15: P.CGROUP_SOCK_ADDR,
  19: P.CGROUP_SOCK_ADDR,
  20: P.CGROUP_SOCK_ADDR, // UDP SEND/RECVMSG
  29: P.CGROUP_SOCK_ADDR,
  30: P.CGROUP_SOCK_ADDR,
  31: P.CGROUP_SOCK_ADDR,
  32: P.CGROUP_SOCK_ADDR, // GETPEER/SOCKNAME
  49: P.CGROUP_SOCK_ADDR,
  50: P.CGROUP_SOCK_ADDR,
  51: P.CGROUP_SOCK_ADDR,
  52: P.CGROUP_SOCK_ADDR,
  53: P.CGROUP_SOCK_ADDR, // UNIX_*
  16: P.LIRC_MODE2,
  17: P.FLOW_DISSECTOR,
  18: P.CGROUP_SYSCTL,
  21: P.CGROUP_SOCKOPT,
  22: P.CGROUP_SOCKOPT,
  23: P.TRACING,
  24: P.TRACING,
  25: P.TRACING,
  26: P.TRACING,
  28: P.TRACING, // RAW_TP, FENTRY, FEXIT, MODIFY_RETURN, ITER
  58: P.TRACING,
  59: P.TRACING,
  60: P.TRACING,
  61: P.TRACING, // FSESSION, FENTRY/FEXIT/FSESSION_MULTI (7.x)
  27: P.LSM,
  43: P.LSM, // LSM_MAC, LSM_CGROUP
  36: P.SK_LOOKUP,
  37: P.XDP,
  [BPF_TCX_INGRESS]: P.SCHED_CLS,
  [BPF_TCX_EGRESS]: P.SCHED_CLS,
  [BPF_NETKIT_PRIMARY]: P.SCHED_CLS,
  [BPF_NETKIT_PEER]: P.SCHED_CLS,
};

export const BPF_LSM_CGROUP = 43;
export const BPF_STRUCT_OPS = 44;

/** attach_type_to_prog_type(), for the profile's kernel: types it does not know are UNSPEC. */
export function attachTypeToProgType(profile: Profile, type: number): BpfProgType {
  if (type < 0 || type >= profile.maxAttachType) return P.UNSPEC;
  return PROG_TYPE_OF[type] ?? P.UNSPEC;
}

/** is_cgroup_prog_type(ptype, 0, false). */
export function isCgroupProgType(ptype: BpfProgType): boolean {
  return (
    ptype === P.CGROUP_DEVICE ||
    ptype === P.CGROUP_SKB ||
    ptype === P.CGROUP_SOCK ||
    ptype === P.CGROUP_SOCK_ADDR ||
    ptype === P.CGROUP_SOCKOPT ||
    ptype === P.CGROUP_SYSCTL ||
    ptype === P.SOCK_OPS ||
    ptype === P.LSM
  );
}

/** The attach types bpf_prog_query() hands to a family the emulator does not model (lirc,
 * sockmap; cgroup, netns, tcx and netkit are asked first); everything else it does not list is
 * EINVAL there. */
export function queryHasOtherFamily(profile: Profile, type: number): boolean {
  const ptype = attachTypeToProgType(profile, type);
  return ptype === P.LIRC_MODE2 || ptype === P.SK_SKB || ptype === P.SK_MSG;
}

/** bpf_prog_attach_check_attach_type(), for the program types a sequence can load. */
export function bpfProgAttachCheckAttachType(k: Caller, prog: BpfProg, type: number): number {
  const profile = k.profile;
  const ptype = attachTypeToProgType(profile, type);
  if (prog.type === BPF_PROG_TYPE.SCHED_CLS) return ptype === BPF_PROG_TYPE.SCHED_CLS ? 0 : -EINVAL;
  const byExpectedType = [
    BPF_PROG_TYPE.CGROUP_SOCK,
    BPF_PROG_TYPE.CGROUP_SOCK_ADDR,
    BPF_PROG_TYPE.CGROUP_SOCKOPT,
    BPF_PROG_TYPE.SK_LOOKUP,
  ] as number[];
  if (byExpectedType.includes(prog.type)) return type === prog.expectedAttachType ? 0 : -EINVAL;
  // "cg-skb progs can be loaded by unpriv user. check permissions at attach time."
  if (prog.type === BPF_PROG_TYPE.CGROUP_SKB && !netAdminCapable(k)) return -EPERM;
  // CGROUP_SKB without an enforced expected attach type: any attach type until the kernel
  // compared the types; the default case (xdp): the types must match.
  if (prog.type === BPF_PROG_TYPE.CGROUP_SKB && !profile.cgroupSkbAttachTypeChecked) return 0;
  return ptype === BPF_PROG_TYPE.UNSPEC || ptype !== prog.type ? -EINVAL : 0;
}
