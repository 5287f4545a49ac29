// The capability checks of the bpf(2) paths: kernel/capability.c capable(),
// include/linux/capability.h bpf_capable() and perfmon_capable(), include/linux/bpf.h
// bpf_net_capable(), kernel/bpf/token.c bpf_token_capable() (without a token: the init user
// namespace, CAP_SYS_ADMIN standing in for any other capability), and the sysctl they meet,
// kernel.unprivileged_bpf_disabled. The caller is the process that runs the sequence; its
// effective set is the kernel's `caps` while a call runs (harness/targets/emulator.ts sets it
// per call, the sequence's or the step's).

import { CAPABILITIES, type CapabilityName } from '../uapi/capability.js';
import type { Profile } from './profiles.js';

/** What the checks read: the caller's effective set and the kernel's configuration. */
export interface Caller {
  readonly profile: Profile;
  /** The calling process's effective capabilities (bit n: capability n). */
  caps: bigint;
  /** kernel.unprivileged_bpf_disabled (0, 1 or 2). */
  unprivilegedBpfDisabled: number;
}

/** capable(): the capability is in the caller's effective set (the init user namespace: the
 * agent's sequences run there, in network namespaces of their own). */
export function capable(k: Caller, cap: CapabilityName): boolean {
  return (k.caps & (1n << BigInt(CAPABILITIES[cap]))) !== 0n;
}

/** bpf_capable(): CAP_BPF, or CAP_SYS_ADMIN. */
export function bpfCapable(k: Caller): boolean {
  return capable(k, 'CAP_BPF') || capable(k, 'CAP_SYS_ADMIN');
}

/** perfmon_capable(): CAP_PERFMON, or CAP_SYS_ADMIN. */
export function perfmonCapable(k: Caller): boolean {
  return capable(k, 'CAP_PERFMON') || capable(k, 'CAP_SYS_ADMIN');
}

/** bpf_net_capable(): CAP_NET_ADMIN, or CAP_SYS_ADMIN. */
export function bpfNetCapable(k: Caller): boolean {
  return capable(k, 'CAP_NET_ADMIN') || capable(k, 'CAP_SYS_ADMIN');
}

/** bpf_token_capable(NULL, cap) (bpf_ns_capable() in the init user namespace): the capability,
 * or CAP_SYS_ADMIN for any other. */
export function bpfTokenCapable(k: Caller, cap: CapabilityName): boolean {
  return capable(k, cap) || (cap !== 'CAP_SYS_ADMIN' && capable(k, 'CAP_SYS_ADMIN'));
}

/**
 * The CAP_NET_ADMIN checks of BPF_PROG_QUERY and of a cgroup_skb program's attach
 * (bpf_prog_attach_check_attach_type()): CAP_NET_ADMIN alone before ed1ad5a7415d "bpf: Align
 * CAP_NET_ADMIN checks with bpf_capable() approach" (v6.9), CAP_NET_ADMIN or CAP_SYS_ADMIN since
 * (bpf_net_capable(), then bpf_token_capable()).
 */
export function netAdminCapable(k: Caller): boolean {
  return k.profile.netAdminOrSysAdmin ? bpfNetCapable(k) : capable(k, 'CAP_NET_ADMIN');
}

/** rtnetlink_rcv_msg()'s and tc_modify_qdisc()'s netlink_net_capable(skb, CAP_NET_ADMIN): the
 * socket's opener and the caller both (the agent opens its socket in the call), CAP_NET_ADMIN
 * itself (no CAP_SYS_ADMIN fallback). */
export function netlinkNetCapable(k: Caller): boolean {
  return capable(k, 'CAP_NET_ADMIN');
}
