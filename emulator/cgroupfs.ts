// The part of kernel/cgroup/cgroup.c a sequence reaches: cgroup v2 directories made and removed
// (cgroup_mkdir, cgroup_rmdir), fds of them (cgroup_get_from_fd), and the bpf state each cgroup
// carries (struct cgroup_bpf, include/linux/bpf-cgroup-defs.h).
//
// The kernel releases a removed cgroup's bpf state from a workqueue once its last reference goes
// (cgroup_bpf_offline -> cgroup_bpf_release); targets wait for that, so here it happens at once.

import { EBADF, EBUSY, EEXIST, ENOENT } from '../uapi/errno.js';
import type { FdTable } from './fdtable.js';
import type { BpfLink } from './link.js';
import type { BpfProg } from './prog.js';

/** enum cgroup_bpf_attach_type without the LSM slots: to_cgroup_bpf_attach_type(), by bpf_attach_type. */
export const CGROUP_ATYPE: Readonly<Record<number, number>> = {
  0: 0,
  1: 1,
  2: 2,
  3: 3, // INET_INGRESS, INET_EGRESS, INET_SOCK_CREATE, SOCK_OPS
  6: 4, // DEVICE
  8: 5,
  9: 6,
  10: 7,
  11: 8,
  49: 9, // INET4/6_BIND, INET4/6_CONNECT, UNIX_CONNECT
  12: 10,
  13: 11, // INET4/6_POST_BIND
  14: 12,
  15: 13,
  50: 14, // UDP4/6_SENDMSG, UNIX_SENDMSG
  18: 15, // SYSCTL
  19: 16,
  20: 17,
  51: 18, // UDP4/6_RECVMSG, UNIX_RECVMSG
  21: 19,
  22: 20, // GETSOCKOPT, SETSOCKOPT
  29: 21,
  30: 22,
  52: 23,
  31: 24,
  32: 25,
  53: 26, // INET4/6/UNIX_GETPEERNAME, INET4/6/UNIX_GETSOCKNAME
  34: 27, // INET_SOCK_RELEASE
};
/** CGROUP_LSM_START: the slots after it belong to BPF_LSM_CGROUP programs, which are not modelled. */
export const MAX_CGROUP_BPF_ATTACH_TYPE = 28;

/** struct bpf_prog_list: one attached program or link, with the flags it was attached with. */
export interface BpfProgList {
  prog: BpfProg | null;
  link: CgroupLinkRef | null;
  flags: number;
}

/** What a cgroup list entry needs of struct bpf_cgroup_link (the class lives in cgroup.ts). */
export interface CgroupLinkRef extends BpfLink {
  cgroup: Cgroup | null;
}

/** struct cgroup_bpf. */
export class CgroupBpf {
  /** progs[atype]: the attached list, in run order. */
  readonly progs: BpfProgList[][] = Array.from({ length: MAX_CGROUP_BPF_ATTACH_TYPE }, () => []);
  /** flags[atype]: the list's mode, 0, BPF_F_ALLOW_OVERRIDE or BPF_F_ALLOW_MULTI. */
  readonly flags: number[] = new Array<number>(MAX_CGROUP_BPF_ATTACH_TYPE).fill(0);
  /** revisions[atype]: 1 at creation (init_cgroup_housekeeping), never reset. */
  readonly revisions: number[] = new Array<number>(MAX_CGROUP_BPF_ATTACH_TYPE).fill(1);
  /** effective[atype]: the programs that run for this cgroup, its own and inherited. */
  readonly effective: BpfProg[][] = Array.from({ length: MAX_CGROUP_BPF_ATTACH_TYPE }, () => []);
}

export class Cgroup {
  readonly children: Cgroup[] = [];
  readonly bpf = new CgroupBpf();
  /** CSS_ONLINE: cleared by rmdir; an fd of an offline cgroup finds nothing (ENOENT). */
  online = true;
  constructor(
    /** cgroup_id(): the directory's inode number (the kernel's kernfs id). */
    readonly id: number,
    readonly name: string,
    readonly parent: Cgroup | null,
  ) {}
}

/** The cgroup v2 hierarchy as far as a sequence sees it: the root private to the sequence, below
 * the cgroups that exist outside it (its ancestors, which may hold programs of their own). */
export class CgroupTree {
  private nextId = 1000;
  /** The cgroups above the sequence's root, outermost (the hierarchy's root) first. */
  readonly ancestors: Cgroup[] = [];
  readonly root: Cgroup;

  constructor(ancestorLevels = 1) {
    let parent: Cgroup | null = null;
    for (let depth = 0; depth < ancestorLevels; depth++) {
      const cgrp: Cgroup = new Cgroup(this.allocId(), `^${depth}`, parent);
      parent?.children.push(cgrp);
      this.ancestors.push(cgrp);
      parent = cgrp;
    }
    this.root = new Cgroup(this.allocId(), '', parent);
    parent?.children.push(this.root);
  }

  allocId(): number {
    return this.nextId++;
  }
}

/** cgroup_parent(). */
export function cgroupParent(cgrp: Cgroup): Cgroup | null {
  return cgrp.parent;
}

/** css_for_each_descendant_pre(): `cgrp` and every online descendant, parents first. */
export function* cssForEachDescendantPre(cgrp: Cgroup): Generator<Cgroup> {
  yield cgrp;
  for (const child of cgrp.children) yield* cssForEachDescendantPre(child);
}

/** cgroup_get_from_fd(): the fd must be an open cgroup v2 directory (else EBADF) whose cgroup
 * is still online (css_tryget_online_from_dir(): else ENOENT). */
export function cgroupGetFromFd(files: FdTable, fd: number): Cgroup | number {
  const file = files.get(fd);
  if (!file || file.kind !== 'cgroup') return -EBADF;
  return file.cgroup.online ? file.cgroup : -ENOENT;
}

/** cgroup_mkdir(): a new child of an online parent (a removed one has no directory: ENOENT);
 * `online` is what cgroup_bpf_inherit() needs to compute the new cgroup's effective arrays. */
export function cgroupMkdir(tree: CgroupTree, parent: Cgroup, name: string, online: (cgrp: Cgroup) => void): Cgroup | number {
  if (!parent.online) return -ENOENT;
  if (parent.children.some((c) => c.name === name)) return -EEXIST;
  const cgrp = new Cgroup(tree.allocId(), name, parent);
  parent.children.push(cgrp);
  online(cgrp);
  return cgrp;
}

/** cgroup_rmdir() -> cgroup_destroy_locked(): a cgroup with online children is busy; otherwise
 * it goes offline, out of its parent's children, and `offline` releases its bpf state. */
export function cgroupRmdir(cgrp: Cgroup, offline: (cgrp: Cgroup) => void): number {
  if (!cgrp.online) return -ENOENT; // its directory is gone
  if (cgrp.children.length) return -EBUSY;
  cgrp.online = false;
  const siblings = cgrp.parent!.children;
  siblings.splice(siblings.indexOf(cgrp), 1);
  offline(cgrp);
  return 0;
}
