// kernel/bpf/syscall.c: the bpf(2) commands that reach tcx, netkit and cgroups, with their checks
// in the kernel's order. Attrs carry only the fields these paths read; CHECK_ATTR's trailing-zero rule
// cannot be violated through mprog-seq/1, so it is not modelled.

import { cgroupBpfLinkAttach, cgroupBpfProgAttach, cgroupBpfProgDetach, cgroupBpfProgQuery } from './cgroup.js';
import {
  type MprogAttachAttr,
  type MprogAttachPoint,
  type MprogLinkAttr,
  mprogLinkAttach,
  mprogProgAttach,
  mprogProgDetach,
  mprogProgQuery,
} from './attach-point.js';
import { EBADF, EBADFD, EINVAL, EPERM } from '../uapi/errno.js';
import { bpfCapable, bpfNetCapable, netAdminCapable } from './capability.js';
import { isErr } from './err.js';
import type { LinkInfoUnion } from './link.js';
import type { Kernel } from './kernel.js';
import { bpfLinkGetFromFd, bpfLinkPut } from './link.js';
import type { QueryAttr, QueryOut } from './mprog.js';
import { netkitAttachPoint } from './netkit.js';
import { type BpfProg, bpfProgGet, bpfProgGetType, bpfProgPut } from './prog.js';
import { tcxAttachPoint } from './tcx.js';
import { netnsBpfLinkCreate, netnsBpfProgAttach, netnsBpfProgDetach, netnsBpfProgQuery } from './net-namespace.js';
import {
  BPF_LSM_CGROUP,
  BPF_STRUCT_OPS,
  attachTypeToProgType,
  bpfProgAttachCheckAttachType,
  isCgroupProgType,
  queryHasOtherFamily,
} from './attach-types.js';
import type { Profile } from './profiles.js';
import {
  BPF_F_ALLOW_MULTI,
  BPF_F_ALLOW_OVERRIDE,
  BPF_F_ATTACH_MASK_MPROG,
  BPF_F_PREORDER,
  BPF_F_QUERY_EFFECTIVE,
  BPF_F_REPLACE,
  BPF_FLOW_DISSECTOR,
  BPF_NETKIT_PEER,
  BPF_NETKIT_PRIMARY,
  BPF_PROG_TYPE,
  BPF_SK_LOOKUP,
  BPF_TCX_EGRESS,
  BPF_TCX_INGRESS,
  type BpfProgType,
} from '../uapi/bpf.js';

/** A call the model has no answer for: it reaches an attach family other than tcx, netkit,
 * cgroups and the netns ones (xdp, sockmap, lirc, LSM cgroup, ...), which the emulator does not
 * model. */
export class ModelGapError extends Error {
  override name = 'ModelGapError';
}

function modelGap(what: string, type: number): never {
  throw new ModelGapError(`${what} with attach type ${type} reaches a family other than tcx/netkit/cgroup/netns, which the emulator does not model`);
}

/** BPF_F_ATTACH_MASK_BASE of the profile's kernel (BPF_F_PREORDER came with the cgroup pre-ordering). */
function attachMaskBase(profile: Profile): number {
  return BPF_F_ALLOW_OVERRIDE | BPF_F_ALLOW_MULTI | BPF_F_REPLACE | (profile.cgroupPreorder ? BPF_F_PREORDER : 0);
}

/** The branch of bpf_prog_attach/detach that takes the mprog fields for cgroup types (came with
 * the cgroup mprog API; before, cgroup types took only the base flags). */
function cgroupMprogAttach(profile: Profile, ptype: BpfProgType): boolean {
  return profile.cgroupMprog && isCgroupProgType(ptype);
}

/** The program types link_create() hands to cgroup_bpf_link_attach(). */
const CGROUP_LINK_PROG_TYPES: readonly number[] = [
  BPF_PROG_TYPE.CGROUP_SKB,
  BPF_PROG_TYPE.CGROUP_SOCK,
  BPF_PROG_TYPE.CGROUP_SOCK_ADDR,
  BPF_PROG_TYPE.SOCK_OPS,
  BPF_PROG_TYPE.CGROUP_DEVICE,
  BPF_PROG_TYPE.CGROUP_SYSCTL,
  BPF_PROG_TYPE.CGROUP_SOCKOPT,
];

/** The attach types bpf_prog_query() hands to cgroup_bpf_prog_query(). */
function cgroupQueryType(profile: Profile, type: number): boolean {
  const ptype = attachTypeToProgType(profile, type);
  return (isCgroupProgType(ptype) && ptype !== BPF_PROG_TYPE.LSM) || (type === BPF_LSM_CGROUP && type < profile.maxAttachType);
}

/** The tcx or netkit attach point of an attach type (only asked once the type is known to be
 * SCHED_CLS, i.e. tcx or netkit in the profile's kernel). */
function mprogAttachPoint(type: number): MprogAttachPoint {
  return type === BPF_TCX_INGRESS || type === BPF_TCX_EGRESS ? tcxAttachPoint : netkitAttachPoint;
}

/** netkit_prog_attach() and its siblings in a kernel without CONFIG_NETKIT: stubs answering
 * -EINVAL (include/net/netkit.h), reached after the syscall's own checks. */
function netkitStub(k: Kernel, type: number): boolean {
  return !k.netkitBuilt && (type === BPF_NETKIT_PRIMARY || type === BPF_NETKIT_PEER);
}

/** bpf_mprog_supported(). */
function bpfMprogSupported(ptype: BpfProgType): boolean {
  return ptype === BPF_PROG_TYPE.SCHED_CLS;
}

export interface ProgAttachAttr extends MprogAttachAttr {
  attach_bpf_fd: number;
}

/** bpf_prog_attach(). A type that is neither mprog nor cgroup (the flow dissector) takes only the
 * base flags and refuses relative_fd and expected_revision: ba62d61128bd "bpf: Refuse unused
 * attributes in bpf_prog_{attach,detach}" (v6.6-rc5, before tcx's first release: in every profile
 * from 6.6 on). */
export function bpfProgAttach(k: Kernel, attr: ProgAttachAttr): number {
  const ptype = attachTypeToProgType(k.profile, attr.attach_type);
  if (ptype === BPF_PROG_TYPE.UNSPEC) return -EINVAL;
  if (bpfMprogSupported(ptype)) {
    if (attr.attach_flags & ~BPF_F_ATTACH_MASK_MPROG) return -EINVAL;
  } else if (cgroupMprogAttach(k.profile, ptype)) {
    if (attr.attach_flags & ~(attachMaskBase(k.profile) | BPF_F_ATTACH_MASK_MPROG)) return -EINVAL;
  } else {
    if (attr.attach_flags & ~attachMaskBase(k.profile)) return -EINVAL;
    if (attr.relative_fd || attr.expected_revision) return -EINVAL;
  }
  const prog = bpfProgGetType(k, attr.attach_bpf_fd, ptype);
  if (isErr(prog)) return prog;
  if (bpfProgAttachCheckAttachType(k, prog, attr.attach_type)) return -EINVAL;
  if (isCgroupProgType(ptype)) {
    if (ptype === BPF_PROG_TYPE.LSM) modelGap('BPF_PROG_ATTACH', attr.attach_type);
    return cgroupBpfProgAttach(k, { ...attr, target_fd: attr.target_ifindex }, ptype, prog);
  }
  if (ptype === BPF_PROG_TYPE.FLOW_DISSECTOR) return netnsBpfProgAttach(k, { ...attr, target_fd: attr.target_ifindex }, prog);
  if (ptype !== BPF_PROG_TYPE.SCHED_CLS) return -EINVAL; // the switch's default: xdp has no opts attach
  if (netkitStub(k, attr.attach_type)) return -EINVAL;
  return mprogProgAttach(k, mprogAttachPoint(attr.attach_type), attr, prog);
}

/** bpf_mprog_detach_empty() (ae23bc81ddf7): who may detach from an mprog attach point without
 * naming the program. */
function bpfMprogDetachEmpty(k: Kernel, ptype: BpfProgType): boolean {
  return ptype === BPF_PROG_TYPE.SCHED_CLS ? bpfNetCapable(k) : false;
}

/** __sys_bpf()'s own privilege check before 1d28635abcf1 (the 6.1 profile): with
 * unprivileged_bpf_disabled set, a caller without CAP_BPF gets EPERM for every command, before
 * the attr is looked at. 0 when the call goes on. */
export function sysBpfEntry(k: Kernel): number {
  return k.profile.sysBpfUnprivEntry && k.unprivilegedBpfDisabled && !bpfCapable(k) ? -EPERM : 0;
}

/** bpf_prog_query()'s first check, before CHECK_ATTR(): CAP_NET_ADMIN (or, since ed1ad5a7415d,
 * CAP_SYS_ADMIN). */
export function bpfProgQueryCheckCaps(k: Kernel): number {
  return netAdminCapable(k) ? 0 : -EPERM;
}

/** bpf_prog_detach(). attach_bpf_fd 0 means "no program": the flags pick the slot. */
export function bpfProgDetach(k: Kernel, attr: ProgAttachAttr): number {
  const ptype = attachTypeToProgType(k.profile, attr.attach_type);
  let prog: BpfProg | null = null;
  if (bpfMprogSupported(ptype)) {
    if (attr.attach_flags & ~BPF_F_ATTACH_MASK_MPROG) return -EINVAL;
    if (attr.attach_bpf_fd) {
      const p = bpfProgGetType(k, attr.attach_bpf_fd, ptype);
      if (isErr(p)) return p;
      prog = p;
    } else if (k.profile.detachEmptyChecked && !bpfMprogDetachEmpty(k, ptype)) {
      return -EPERM;
    }
    if (netkitStub(k, attr.attach_type)) return -EINVAL;
    return mprogProgDetach(k, mprogAttachPoint(attr.attach_type), attr, prog);
  }
  if (cgroupMprogAttach(k.profile, ptype)) {
    if (attr.attach_flags || attr.relative_fd) return -EINVAL;
  } else if (attr.attach_flags || attr.relative_fd || attr.expected_revision) {
    return -EINVAL;
  }
  const family = [BPF_PROG_TYPE.SK_MSG, BPF_PROG_TYPE.SK_SKB, BPF_PROG_TYPE.LIRC_MODE2, BPF_PROG_TYPE.LSM] as number[];
  if (family.includes(ptype)) modelGap('BPF_PROG_DETACH', attr.attach_type);
  if (ptype === BPF_PROG_TYPE.FLOW_DISSECTOR) return netnsBpfProgDetach(k, { ...attr, target_fd: attr.target_ifindex }, ptype);
  if (isCgroupProgType(ptype)) return cgroupBpfProgDetach(k, { ...attr, target_fd: attr.target_ifindex }, ptype);
  return -EINVAL;
}

export interface ProgQueryAttr extends QueryAttr {
  target_ifindex: number;
  attach_type: number;
}

/** bpf_prog_query(). */
export function bpfProgQuery(k: Kernel, attr: ProgQueryAttr): QueryOut | number {
  const denied = bpfProgQueryCheckCaps(k);
  if (denied) return denied;
  if (attr.query_flags & ~BPF_F_QUERY_EFFECTIVE) return -EINVAL;
  const ptype = attachTypeToProgType(k.profile, attr.attach_type);
  if (bpfMprogSupported(ptype)) {
    if (netkitStub(k, attr.attach_type)) return -EINVAL;
    return mprogProgQuery(k, mprogAttachPoint(attr.attach_type), attr.target_ifindex, attr.attach_type, attr);
  }
  if (cgroupQueryType(k.profile, attr.attach_type)) return cgroupBpfProgQuery(k, attr.target_ifindex, attr.attach_type, attr);
  if (attr.attach_type === BPF_FLOW_DISSECTOR || attr.attach_type === BPF_SK_LOOKUP)
    return netnsBpfProgQuery(k, attr.target_ifindex, attr.attach_type, attr);
  if (queryHasOtherFamily(k.profile, attr.attach_type)) modelGap('BPF_PROG_QUERY', attr.attach_type);
  return -EINVAL;
}

export interface LinkCreateAttr extends MprogLinkAttr {
  prog_fd: number;
}

/** link_create(). Returns the new link's fd. */
export function linkCreate(k: Kernel, attr: LinkCreateAttr): number {
  if (attr.attach_type === BPF_STRUCT_OPS && attr.attach_type < k.profile.maxAttachType) modelGap('BPF_LINK_CREATE', attr.attach_type);
  const prog = bpfProgGet(k, attr.prog_fd);
  if (isErr(prog)) return prog;
  const ret = bpfProgAttachCheckAttachType(k, prog, attr.attach_type);
  if (ret) return ret;
  if (CGROUP_LINK_PROG_TYPES.includes(prog.type)) {
    return cgroupBpfLinkAttach(k, k.cgroupLinkOps, { ...attr, target_fd: attr.target_ifindex }, prog);
  }
  if (prog.type === BPF_PROG_TYPE.FLOW_DISSECTOR) return netnsBpfLinkCreate(k, { ...attr, target_fd: attr.target_ifindex }, prog);
  if (prog.type !== BPF_PROG_TYPE.SCHED_CLS) modelGap('BPF_LINK_CREATE', attr.attach_type); // an xdp link
  if (netkitStub(k, attr.attach_type)) return -EINVAL;
  return mprogLinkAttach(k, mprogAttachPoint(attr.attach_type), k.mprogLinkOps, attr, prog);
}

export interface LinkUpdateAttr {
  link_fd: number;
  new_prog_fd: number;
  flags: number;
  old_prog_fd: number;
}

/** link_update(). */
export function linkUpdate(k: Kernel, attr: LinkUpdateAttr): number {
  if (attr.flags & ~BPF_F_REPLACE) return -EINVAL;
  const link = bpfLinkGetFromFd(k, attr.link_fd);
  if (isErr(link)) return link;
  const newProg = bpfProgGet(k, attr.new_prog_fd);
  if (isErr(newProg)) return newProg;
  let oldProg: BpfProg | null = null;
  if (attr.flags & BPF_F_REPLACE) {
    const old = bpfProgGet(k, attr.old_prog_fd);
    if (isErr(old)) return old;
    oldProg = old;
  } else if (attr.old_prog_fd) {
    return -EINVAL;
  }
  return link.ops.updateProg(link, newProg, oldProg);
}

/** link_detach(). */
export function linkDetach(k: Kernel, linkFd: number): number {
  const link = bpfLinkGetFromFd(k, linkFd);
  if (isErr(link)) return link;
  return link.ops.detach(link);
}

/** struct bpf_link_info, the fields tcx, netkit and cgroup links fill. */
export type BpfLinkInfo = { type: number; id: number; prog_id: number } & LinkInfoUnion;

/** bpf_obj_get_info_by_fd() -> bpf_link_get_info_by_fd(); programs' and maps' info is not modelled. */
export function bpfObjGetInfoByFd(k: Kernel, fd: number): BpfLinkInfo | number {
  const file = k.files.get(fd);
  if (!file) return -EBADFD;
  if (file.kind !== 'link') {
    if (file.kind === 'prog' || file.kind === 'map') throw new ModelGapError(`BPF_OBJ_GET_INFO_BY_FD on a ${file.kind} is not modelled`);
    return -EINVAL;
  }
  const { link } = file;
  return { type: link.type, id: link.id, prog_id: link.prog.id, ...link.ops.fillInfo(link) };
}

/** close(2) of a bpf fd: the last reference of a link detaches it. */
export function closeFd(k: Kernel, fd: number): number {
  const file = k.files.remove(fd);
  if (!file) return -EBADF;
  if (file.kind === 'prog') bpfProgPut(k, file.prog);
  else if (file.kind === 'link') bpfLinkPut(k, file.link);
  return 0;
}
