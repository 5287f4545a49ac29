// BPF links: the generic part (kernel/bpf/syscall.c). The attach point specific part
// (tcx_link, netkit_link) supplies the ops, as struct bpf_link_ops does.

import { EAGAIN, EBADF, EINVAL, ENOENT } from '../uapi/errno.js';
import type { CyclicIdr } from './idr.js';
import { type BpfProg, type ProgTables, bpfProgPut } from './prog.js';

export interface BpfLinkOps {
  /** Called when the last reference goes: detach from the attach point if still attached. */
  release(link: BpfLink): void;
  /** BPF_LINK_DETACH. */
  detach(link: BpfLink): number;
  /** BPF_LINK_UPDATE; `oprog` is null without BPF_F_REPLACE. */
  updateProg(link: BpfLink, nprog: BpfProg, oprog: BpfProg | null): number;
  /** The type-specific part of BPF_OBJ_GET_INFO_BY_FD. */
  fillInfo(link: BpfLink): LinkInfoUnion;
}

/** The union in struct bpf_link_info: tcx/netkit fill ifindex, cgroup links cgroup_id, netns links
 * netns_ino. */
export type LinkInfoUnion =
  | { ifindex: number; attach_type: number }
  | { cgroup_id: number; attach_type: number }
  | { netns_ino: number; attach_type: number };

export class BpfLink {
  /** 0 until bpf_link_settle(): the id is reserved in the idr but not yet fetchable. */
  id = 0;
  refcnt = 1;
  constructor(
    readonly type: number,
    readonly ops: BpfLinkOps,
    public prog: BpfProg,
  ) {}
}

export interface LinkTables extends ProgTables {
  linkIdr: CyclicIdr<BpfLink>;
}

/** bpf_link_primer: what bpf_link_prime() reserved, until settle or cleanup. */
export interface BpfLinkPrimer {
  link: BpfLink;
  id: number;
}

/** bpf_link_prime(): reserve an id. (The fd is reserved too; being the lowest free fd and given
 * back on failure, it is simply installed by bpf_link_settle() here.) */
export function bpfLinkPrime(k: LinkTables, link: BpfLink): BpfLinkPrimer {
  return { link, id: k.linkIdr.alloc(link) };
}

/** bpf_link_settle(): make the link fetchable by id and fd; returns the new fd. */
export function bpfLinkSettle(k: LinkTables, primer: BpfLinkPrimer): number {
  primer.link.id = primer.id;
  return k.files.install({ kind: 'link', link: primer.link });
}

/** bpf_link_cleanup(): a failed attach; the reserved id is gone for good (cyclic ids). */
export function bpfLinkCleanup(k: LinkTables, primer: BpfLinkPrimer): void {
  k.linkIdr.remove(primer.id);
}

/** bpf_link_get_from_fd(). */
export function bpfLinkGetFromFd(k: LinkTables, fd: number): BpfLink | number {
  const file = k.files.get(fd);
  if (!file) return -EBADF;
  if (file.kind !== 'link') return -EINVAL;
  return file.link;
}

/** bpf_link_by_id(). */
export function bpfLinkById(k: LinkTables, id: number): BpfLink | number {
  if (!id) return -ENOENT;
  const link = k.linkIdr.find(id);
  if (!link) return -ENOENT;
  return link.id ? link : -EAGAIN;
}

/** bpf_link_put_direct() -> bpf_link_free(): release, free the id, drop the program. */
export function bpfLinkPut(k: LinkTables, link: BpfLink): void {
  if (--link.refcnt > 0) return;
  link.ops.release(link);
  k.linkIdr.remove(link.id);
  bpfProgPut(k, link.prog);
}
