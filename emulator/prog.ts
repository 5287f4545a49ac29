// BPF programs: ids, references and lookups (kernel/bpf/syscall.c).
// Lookups take no reference: every call in this model runs to completion, so nothing can free the
// object in between. References are counted only for holders that outlive a call (fds, attached
// slots, links), because those decide when a program is freed and its id stops resolving.

import { EBADF, EINVAL, ENOENT, EPERM } from '../uapi/errno.js';
import { type Caller, bpfCapable, bpfTokenCapable } from './capability.js';
import type { FdTable } from './fdtable.js';
import type { CyclicIdr } from './idr.js';
import { BPF_PROG_TYPE, type BpfProgType } from '../uapi/bpf.js';
import type { CgroupStorages } from './local-storage.js';
import type { BpfMap } from './map.js';
import { resolvePseudoLdimm64 } from './verifier.js';

export class BpfProg {
  id = 0;
  refcnt = 1;
  /** aux->cgroup_storage[]: the storage map of each type its body references. */
  readonly cgroupStorage: CgroupStorages = [null, null];
  constructor(
    readonly type: BpfProgType,
    readonly name: string,
    /** expected_attach_type given at load (0 when none was). */
    readonly expectedAttachType = 0,
  ) {}
}

export interface ProgTables {
  files: FdTable;
  progIdr: CyclicIdr<BpfProg>;
}

/** is_net_admin_prog_type(), for the program types a sequence can load (the others of the list:
 * SCHED_ACT, the LWT types, SK_SKB, SK_MSG, FLOW_DISSECTOR, CGROUP_DEVICE, CGROUP_SOCK,
 * CGROUP_SOCK_ADDR, CGROUP_SYSCTL, SOCK_OPS, EXT, NETFILTER, are net-admin too). CGROUP_SKB is
 * not: "always unpriv", its attach checks CAP_NET_ADMIN instead. */
const NET_ADMIN_PROG_TYPES: readonly number[] = [
  BPF_PROG_TYPE.SCHED_CLS,
  BPF_PROG_TYPE.XDP,
  BPF_PROG_TYPE.SK_SKB,
  BPF_PROG_TYPE.SK_MSG,
  BPF_PROG_TYPE.FLOW_DISSECTOR,
  BPF_PROG_TYPE.CGROUP_DEVICE,
  BPF_PROG_TYPE.CGROUP_SOCK,
  BPF_PROG_TYPE.CGROUP_SOCK_ADDR,
  BPF_PROG_TYPE.CGROUP_SYSCTL,
  BPF_PROG_TYPE.CGROUP_SOCKOPT,
  BPF_PROG_TYPE.SOCK_OPS,
];

/** bpf_prog_load()'s privilege checks, in order, for the trivial program a sequence loads:
 * unprivileged_bpf_disabled without CAP_BPF, a type other than socket_filter/cgroup_skb without
 * CAP_BPF, a net-admin type without CAP_NET_ADMIN (each: CAP_SYS_ADMIN stands in); EPERM. (The
 * perfmon types, tracing and LSM, are not loadable by a sequence.) On 6.1 the first check is
 * __sys_bpf()'s, for every command (emulator/syscall.ts sysBpfEntry). */
export function bpfProgLoadCheckCaps(k: Caller, type: BpfProgType): number {
  const bpfCap = bpfCapable(k);
  if (k.unprivilegedBpfDisabled && !bpfCap) return -EPERM;
  if (type !== BPF_PROG_TYPE.CGROUP_SKB && !bpfCap) return -EPERM; // (nor socket_filter)
  if (NET_ADMIN_PROG_TYPES.includes(type) && !bpfTokenCapable(k, 'CAP_NET_ADMIN')) return -EPERM;
  return 0;
}

/** bpf_prog_load(): a new program with the next id, and an fd for it; -EPERM when the caller may
 * not load it, the verifier's error (bpf_check(), before any id is given) for its maps. */
export function bpfProgLoad(k: ProgTables & Caller, type: BpfProgType, name: string, expectedAttachType = 0, maps: readonly BpfMap[] = []): number {
  const denied = bpfProgLoadCheckCaps(k, type);
  if (denied) return denied;
  const prog = new BpfProg(type, name, expectedAttachType);
  const err = resolvePseudoLdimm64(prog.cgroupStorage, maps);
  if (err) return err;
  prog.id = k.progIdr.alloc(prog);
  return k.files.install({ kind: 'prog', prog });
}

/** bpf_prog_get(): the program behind an fd. */
export function bpfProgGet(k: ProgTables, fd: number): BpfProg | number {
  const file = k.files.get(fd);
  if (!file) return -EBADF;
  if (file.kind !== 'prog') return -EINVAL;
  return file.prog;
}

/** bpf_prog_get_type(): bpf_prog_get() and the program must be of `type`. */
export function bpfProgGetType(k: ProgTables, fd: number, type: BpfProgType): BpfProg | number {
  const prog = bpfProgGet(k, fd);
  if (typeof prog === 'number') return prog;
  return prog.type === type ? prog : -EINVAL;
}

/** bpf_prog_by_id(): id 0 and unknown (or freed) ids are ENOENT. */
export function bpfProgById(k: ProgTables, id: number): BpfProg | number {
  if (!id) return -ENOENT;
  return k.progIdr.find(id) ?? -ENOENT;
}

/** bpf_prog_inc(): a holder that outlives the call. */
export function bpfProgInc(prog: BpfProg): void {
  prog.refcnt++;
}

/** bpf_prog_put(): the last reference frees the id at once (bpf_prog_free_id). */
export function bpfProgPut(k: ProgTables, prog: BpfProg): void {
  if (--prog.refcnt === 0) k.progIdr.remove(prog.id);
}
