// kernel/bpf/syscall.c: the bpf(2) commands that reach tcx and netkit, with their checks in the
// kernel's order. Attrs carry only the fields these paths read; CHECK_ATTR's trailing-zero rule
// cannot be violated through mprog-seq/1, so it is not modelled.

import { type MprogAttachAttr, type MprogAttachPoint, type MprogLinkAttr, mprogLinkAttach, mprogProgAttach, mprogProgDetach, mprogProgQuery } from './attach-point.js';
import { EBADF, EBADFD, EINVAL, isErr } from './errno.js';
import type { Kernel } from './kernel.js';
import { bpfLinkGetFromFd, bpfLinkPut } from './link.js';
import type { QueryAttr, QueryOut } from './mprog.js';
import { netkitAttachPoint } from './netkit.js';
import { type BpfProg, bpfProgGet, bpfProgGetType, bpfProgPut } from './prog.js';
import { tcxAttachPoint } from './tcx.js';
import {
  BPF_F_ATTACH_MASK_MPROG,
  BPF_F_QUERY_EFFECTIVE,
  BPF_F_REPLACE,
  BPF_NETKIT_PEER,
  BPF_NETKIT_PRIMARY,
  BPF_PROG_TYPE,
  BPF_TCX_EGRESS,
  BPF_TCX_INGRESS,
  type BpfProgType,
} from './uapi.js';

/** A call the model has no answer for (an attach type outside tcx/netkit that the kernel knows). */
export class ModelGapError extends Error {
  override name = 'ModelGapError';
}

/** The attach point behind an attach type, if the profile's kernel has it. */
function mprogAttachPoint(k: Kernel, type: number): MprogAttachPoint | null {
  if (type === BPF_TCX_INGRESS || type === BPF_TCX_EGRESS) return k.profile.tcx ? tcxAttachPoint : null;
  if (type === BPF_NETKIT_PRIMARY || type === BPF_NETKIT_PEER) return k.profile.netkit ? netkitAttachPoint : null;
  return null;
}

/** attach_type_to_prog_type(), for the attach types modelled: unknown ones are UNSPEC. */
function attachTypeToProgType(k: Kernel, type: number): BpfProgType {
  if (mprogAttachPoint(k, type)) return BPF_PROG_TYPE.SCHED_CLS;
  if (type < 0 || type >= k.profile.maxAttachType || type === BPF_TCX_INGRESS || type === BPF_TCX_EGRESS || type === BPF_NETKIT_PRIMARY || type === BPF_NETKIT_PEER) {
    return BPF_PROG_TYPE.UNSPEC;
  }
  throw new ModelGapError(`attach type ${type} is not tcx or netkit; the emulator models only those`);
}

export interface ProgAttachAttr extends MprogAttachAttr {
  attach_bpf_fd: number;
}

/** bpf_prog_attach(). The attached slot keeps the program reference taken here. */
export function bpfProgAttach(k: Kernel, attr: ProgAttachAttr): number {
  const ptype = attachTypeToProgType(k, attr.attach_type);
  if (ptype === BPF_PROG_TYPE.UNSPEC) return -EINVAL;
  if (attr.attach_flags & ~BPF_F_ATTACH_MASK_MPROG) return -EINVAL;
  const prog = bpfProgGetType(k, attr.attach_bpf_fd, ptype);
  if (isErr(prog)) return prog;
  return mprogProgAttach(k, mprogAttachPoint(k, attr.attach_type)!, attr, prog);
}

/** bpf_prog_detach(). attach_bpf_fd 0 means "no program": the flags pick the slot. */
export function bpfProgDetach(k: Kernel, attr: ProgAttachAttr): number {
  const ptype = attachTypeToProgType(k, attr.attach_type);
  if (ptype === BPF_PROG_TYPE.UNSPEC) return -EINVAL;
  if (attr.attach_flags & ~BPF_F_ATTACH_MASK_MPROG) return -EINVAL;
  let prog: BpfProg | null = null;
  if (attr.attach_bpf_fd) {
    const p = bpfProgGetType(k, attr.attach_bpf_fd, ptype);
    if (isErr(p)) return p;
    prog = p;
  }
  return mprogProgDetach(k, mprogAttachPoint(k, attr.attach_type)!, attr, prog);
}

export interface ProgQueryAttr extends QueryAttr {
  target_ifindex: number;
  attach_type: number;
}

/** bpf_prog_query(). */
export function bpfProgQuery(k: Kernel, attr: ProgQueryAttr): QueryOut | number {
  if (attr.query_flags & ~BPF_F_QUERY_EFFECTIVE) return -EINVAL;
  if (attachTypeToProgType(k, attr.attach_type) === BPF_PROG_TYPE.UNSPEC) return -EINVAL;
  return mprogProgQuery(k, mprogAttachPoint(k, attr.attach_type)!, attr.target_ifindex, attr.attach_type, attr);
}

/** bpf_prog_attach_check_attach_type(): SCHED_CLS goes only to tcx and netkit; the other modelled
 * program types only to attach types of their own kind, which are not modelled. */
function bpfProgAttachCheckAttachType(k: Kernel, prog: BpfProg, type: number): number {
  const ptype = attachTypeToProgType(k, type);
  if (prog.type === BPF_PROG_TYPE.SCHED_CLS) return ptype === BPF_PROG_TYPE.SCHED_CLS ? 0 : -EINVAL;
  return -EINVAL;
}

export interface LinkCreateAttr extends MprogLinkAttr {
  prog_fd: number;
}

/** link_create(). Returns the new link's fd. */
export function linkCreate(k: Kernel, attr: LinkCreateAttr): number {
  const prog = bpfProgGet(k, attr.prog_fd);
  if (isErr(prog)) return prog;
  const ret = bpfProgAttachCheckAttachType(k, prog, attr.attach_type);
  if (ret) return ret;
  return mprogLinkAttach(k, mprogAttachPoint(k, attr.attach_type)!, k.mprogLinkOps, attr, prog);
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

/** struct bpf_link_info, the fields tcx and netkit links fill. */
export interface BpfLinkInfo {
  type: number;
  id: number;
  prog_id: number;
  ifindex: number;
  attach_type: number;
}

/** bpf_obj_get_info_by_fd() -> bpf_link_get_info_by_fd(); programs' info is not modelled. */
export function bpfObjGetInfoByFd(k: Kernel, fd: number): BpfLinkInfo | number {
  const file = k.files.get(fd);
  if (!file) return -EBADFD;
  if (file.kind !== 'link') {
    if (file.kind === 'prog') throw new ModelGapError('BPF_OBJ_GET_INFO_BY_FD on a program is not modelled');
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
