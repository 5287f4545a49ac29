// kernel/bpf/cgroup.c: programs and links on cgroups. Not kernel/bpf/mprog.c: since v6.17
// (6.12.110) the old per-cgroup list grew the mprog API of its own — BEFORE/AFTER/ID/LINK,
// relatives, expected_revision, a revision in the query — on top of its modes (none, override,
// multi), its limit of 64 and its effective arrays. A profile without it (k.profile.cgroupMprog
// false) runs the code as it was: those flags rejected by syscall.c, new entries appended, no
// revision. Not modelled: BPF_LSM_CGROUP (no sequence can load an LSM program), cgroup storage
// maps, allocation failures (purge_effective_progs).

import {
  type BpfProgList,
  CGROUP_ATYPE,
  type Cgroup,
  type CgroupLinkRef,
  MAX_CGROUP_BPF_ATTACH_TYPE,
  cgroupGetFromFd,
  cgroupParent,
  cssForEachDescendantPre,
} from './cgroupfs.js';
import { E2BIG, EFAULT, EINVAL, ENOENT, ENOLINK, ENOSPC, EPERM, ESTALE } from '../uapi/errno.js';
import { isErr } from './err.js';
import type { FdTable } from './fdtable.js';
import type { CyclicIdr } from './idr.js';
import { BpfLink, type BpfLinkOps, bpfLinkById, bpfLinkCleanup, bpfLinkGetFromFd, bpfLinkPrime, bpfLinkSettle } from './link.js';
import { bpfProgArrayCopyToUser } from './core.js';
import { type QueryAttr, type QueryOut, queryArraysHold } from './mprog.js';
import { bpfProgAttachCheckAttachType } from './attach-types.js';
import type { Profile } from './profiles.js';
import type { Caller } from './capability.js';
import { ALL_CAPS } from '../uapi/capability.js';
import { type BpfProg, bpfProgById, bpfProgGet, bpfProgGetType, bpfProgInc, bpfProgPut } from './prog.js';
import {
  BPF_F_AFTER,
  BPF_F_ALLOW_MULTI,
  BPF_F_ALLOW_OVERRIDE,
  BPF_F_BEFORE,
  BPF_F_ID,
  BPF_F_LINK,
  BPF_F_PREORDER,
  BPF_F_QUERY_EFFECTIVE,
  BPF_F_REPLACE,
  BPF_LINK_TYPE_CGROUP,
  type BpfProgType,
} from '../uapi/bpf.js';

/** What the cgroup code needs of the kernel: fds, ids, the profile. */
export interface CgroupContext extends Caller {
  files: FdTable;
  progIdr: CyclicIdr<BpfProg>;
  linkIdr: CyclicIdr<BpfLink>;
  profile: Profile;
}

/** BPF_CGROUP_MAX_PROGS. */
export const BPF_CGROUP_MAX_PROGS = 64;
const BPF_LSM_CGROUP = 43;

/** bpf_cgroup_atype_find() for everything but BPF_LSM_CGROUP: -1 for no cgroup attach type. */
function bpfCgroupAtypeFind(type: number): number {
  return CGROUP_ATYPE[type] ?? -1;
}

// ---- lists and effective arrays ----

/** prog_list_prog(): the program of an entry, its own or its link's; null once detached. */
function progListProg(pl: BpfProgList): BpfProg | null {
  if (pl.prog) return pl.prog;
  if (pl.link) return pl.link.prog;
  return null;
}

/** prog_list_length(): live entries, and how many of them are BPF_F_PREORDER. */
function progListLength(progs: readonly BpfProgList[]): { cnt: number; preorder: number } {
  let cnt = 0;
  let preorder = 0;
  for (const pl of progs) {
    if (!progListProg(pl)) continue;
    if (pl.flags & BPF_F_PREORDER) preorder++;
    cnt++;
  }
  return { cnt, preorder };
}

/** hierarchy_allows_attach(): the nearest ancestor with a program decides — multi allows, a
 * single override program allows, a single program attached without flags forbids. */
function hierarchyAllowsAttach(cgrp: Cgroup, atype: number): boolean {
  for (let p = cgroupParent(cgrp); p; p = cgroupParent(p)) {
    const flags = p.bpf.flags[atype]!;
    if (flags & BPF_F_ALLOW_MULTI) return true;
    if (progListLength(p.bpf.progs[atype]!).cnt === 1) return !!(flags & BPF_F_ALLOW_OVERRIDE);
  }
  return true;
}

/** compute_effective_progs(): this cgroup's programs, then each ancestor's while nothing was
 * found yet or the ancestor is multi. BPF_F_PREORDER programs go first, the outermost cgroup's
 * first and each cgroup's in list order; the others follow, the deepest cgroup's first. */
export function computeEffectiveProgs(cgrp: Cgroup, atype: number): BpfProg[] {
  const preorder: BpfProg[][] = [];
  const rest: BpfProg[] = [];
  let cnt = 0;
  for (let p: Cgroup | null = cgrp; p; p = cgroupParent(p)) {
    if (cnt > 0 && !(p.bpf.flags[atype]! & BPF_F_ALLOW_MULTI)) continue;
    const level: BpfProg[] = [];
    for (const pl of p.bpf.progs[atype]!) {
      const prog = progListProg(pl);
      if (!prog) continue;
      if (pl.flags & BPF_F_PREORDER) level.push(prog);
      else rest.push(prog);
      cnt++;
    }
    preorder.unshift(level);
  }
  return [...preorder.flat(), ...rest];
}

/** update_effective_progs(): recompute the arrays of `cgrp` and every descendant. */
function updateEffectiveProgs(cgrp: Cgroup, atype: number): void {
  for (const desc of cssForEachDescendantPre(cgrp)) desc.bpf.effective[atype] = computeEffectiveProgs(desc, atype);
}

/** cgroup_bpf_inherit(): a new cgroup starts with its parent's programs in effect. */
export function cgroupBpfInherit(cgrp: Cgroup): void {
  for (let atype = 0; atype < MAX_CGROUP_BPF_ATTACH_TYPE; atype++) cgrp.bpf.effective[atype] = computeEffectiveProgs(cgrp, atype);
}

// ---- attach ----

/** find_attach_entry(): the entry an attach reuses (single mode: the one there is; REPLACE: the
 * program's), null for a new one, or -errno. */
function findAttachEntry(
  progs: BpfProgList[],
  prog: BpfProg | null,
  link: CgroupLink | null,
  replaceProg: BpfProg | null,
  allowMulti: boolean,
): BpfProgList | null | number {
  if (!allowMulti) return progs[0] ?? null;
  for (const pl of progs) {
    if (prog && pl.prog === prog && prog !== replaceProg) return -EINVAL; // the same program twice
    if (link && pl.link === link) return -EINVAL;
  }
  if (replaceProg) return progs.find((pl) => pl.prog === replaceProg) ?? -ENOENT;
  return null;
}

/** bpf_get_anchor_link(): by id with BPF_F_ID, else by a non-zero fd; neither is EINVAL. */
function bpfGetAnchorLink(k: CgroupContext, flags: number, idOrFd: number): BpfLink | number {
  if (flags & BPF_F_ID) return bpfLinkById(k, idOrFd);
  if (idOrFd) return bpfLinkGetFromFd(k, idOrFd);
  return -EINVAL;
}

/** bpf_get_anchor_prog(): the same for programs; no check of the program's type. */
function bpfGetAnchorProg(k: CgroupContext, flags: number, idOrFd: number): BpfProg | number {
  if (flags & BPF_F_ID) return bpfProgById(k, idOrFd);
  if (idOrFd) return bpfProgGet(k, idOrFd);
  return -EINVAL;
}

/** get_prog_list(): the entry a new one goes before or after (null: the list is empty), or -errno. */
function getProgList(
  k: CgroupContext,
  progs: BpfProgList[],
  prog: BpfProg | null,
  link: CgroupLink | null,
  flags: number,
  idOrFd: number,
): BpfProgList | null | number {
  const isLink = !!(flags & BPF_F_LINK);
  const isId = !!(flags & BPF_F_ID);
  const isBefore = !!(flags & BPF_F_BEFORE);
  const isAfter = !!(flags & BPF_F_AFTER);
  const preorder = !!(flags & BPF_F_PREORDER);
  if (isLink || isId || idOrFd) {
    if (isBefore === isAfter) return -EINVAL; // a relative needs exactly one of BEFORE and AFTER
    if ((isLink && !link) || (!isLink && !prog)) return -EINVAL; // and the kind of what is attached
  } else if (progs.length && isBefore && isAfter) {
    return -EINVAL;
  }
  let anchorLink: BpfLink | null = null;
  let anchorProg: BpfProg | null = null;
  if (isLink) {
    const l = bpfGetAnchorLink(k, flags, idOrFd);
    if (isErr(l)) return l;
    anchorLink = l;
  } else if (isId || idOrFd) {
    const p = bpfGetAnchorProg(k, flags, idOrFd);
    if (isErr(p)) return p;
    anchorProg = p;
  }
  // No anchor: BEFORE is the head, anything else the tail (PREORDER sorts itself out later).
  if (!anchorProg && !anchorLink) return progs.length ? (isBefore ? progs[0]! : progs[progs.length - 1]!) : null;
  // A program anchor matches only plain entries (pl->prog), a link anchor only its link's.
  const pl = progs.find((e) => (anchorProg && anchorProg === e.prog) || (anchorLink && anchorLink === e.link));
  if (!pl) return -ENOENT;
  if (!!(pl.flags & BPF_F_PREORDER) !== preorder) return -EINVAL;
  return pl;
}

/** insert_pl_to_hlist(). */
function insertPlToHlist(
  k: CgroupContext,
  pl: BpfProgList,
  progs: BpfProgList[],
  prog: BpfProg | null,
  link: CgroupLink | null,
  flags: number,
  idOrFd: number,
): number {
  const at = getProgList(k, progs, prog, link, flags, idOrFd);
  if (isErr(at)) return at;
  if (!at) progs.unshift(pl);
  else progs.splice(progs.indexOf(at) + (flags & BPF_F_BEFORE ? 0 : 1), 0, pl);
  return 0;
}

/** The insertion of kernels before the cgroup mprog API: at the tail. */
function appendPl(pl: BpfProgList, progs: BpfProgList[]): number {
  progs.push(pl);
  return 0;
}

/**
 * __cgroup_bpf_attach(): attach `prog` (with `replaceProg` under BPF_F_REPLACE) or `link` to
 * `cgrp` and recompute the effective arrays below it. On success the entry keeps the caller's
 * program reference; a replaced program's is dropped.
 */
export function __cgroupBpfAttach(
  k: CgroupContext,
  cgrp: Cgroup,
  prog: BpfProg | null,
  replaceProg: BpfProg | null,
  link: CgroupLink | null,
  type: number,
  flags: number,
  idOrFd: number,
  revision: number,
): number {
  const mprog = k.profile.cgroupMprog;
  const savedFlags = flags & (BPF_F_ALLOW_OVERRIDE | BPF_F_ALLOW_MULTI);
  if ((flags & BPF_F_ALLOW_OVERRIDE && flags & BPF_F_ALLOW_MULTI) || (flags & BPF_F_REPLACE && !(flags & BPF_F_ALLOW_MULTI))) return -EINVAL;
  if (mprog && flags & BPF_F_REPLACE && flags & (BPF_F_BEFORE | BPF_F_AFTER)) return -EINVAL; // replace or insert
  if (link && (prog || replaceProg)) return -EINVAL;
  if (!!replaceProg !== !!(flags & BPF_F_REPLACE)) return -EINVAL;
  const atype = bpfCgroupAtypeFind(type);
  if (atype < 0) return -EINVAL;
  if (mprog && revision && revision !== cgrp.bpf.revisions[atype]) return -ESTALE;
  const progs = cgrp.bpf.progs[atype]!;
  if (!hierarchyAllowsAttach(cgrp, atype)) return -EPERM;
  // A non-empty list keeps its mode: override on none, multi on override or none, ... are EPERM.
  if (progs.length && cgrp.bpf.flags[atype] !== savedFlags) return -EPERM;
  if (progListLength(progs).cnt >= BPF_CGROUP_MAX_PROGS) return -E2BIG;
  let pl = findAttachEntry(progs, prog, link, replaceProg, !!(flags & BPF_F_ALLOW_MULTI));
  if (isErr(pl)) return pl;
  let oldProg: BpfProg | null = null;
  if (pl) {
    oldProg = pl.prog; // reused as it is: its place stays, no relative is looked at
  } else {
    pl = { prog: null, link: null, flags: 0 };
    const err = mprog ? insertPlToHlist(k, pl, progs, prog, link, flags, idOrFd) : appendPl(pl, progs);
    if (err) return err;
  }
  pl.prog = prog;
  pl.link = link;
  pl.flags = flags;
  cgrp.bpf.flags[atype] = savedFlags;
  updateEffectiveProgs(cgrp, atype);
  if (mprog) cgrp.bpf.revisions[atype]! += 1;
  if (oldProg) bpfProgPut(k, oldProg);
  return 0;
}

// ---- detach ----

/** find_detach_entry(): single mode detaches its one entry whatever program was named (even
 * none); multi mode needs the program or link, attached as such. */
function findDetachEntry(progs: BpfProgList[], prog: BpfProg | null, link: CgroupLink | null, allowMulti: boolean): BpfProgList | number {
  if (!allowMulti) return progs[0] ?? -ENOENT;
  if (!prog && !link) return -EINVAL;
  return progs.find((pl) => pl.prog === prog && pl.link === link) ?? -ENOENT;
}

/** __cgroup_bpf_detach(): an emptied list forgets its mode; the revision moves on regardless. */
export function __cgroupBpfDetach(
  k: CgroupContext,
  cgrp: Cgroup,
  prog: BpfProg | null,
  link: CgroupLink | null,
  type: number,
  revision: number,
): number {
  const atype = bpfCgroupAtypeFind(type);
  if (atype < 0) return -EINVAL;
  if (k.profile.cgroupMprog && revision && revision !== cgrp.bpf.revisions[atype]) return -ESTALE;
  const progs = cgrp.bpf.progs[atype]!;
  const flags = cgrp.bpf.flags[atype]!;
  if (prog && link) return -EINVAL;
  const pl = findDetachEntry(progs, prog, link, !!(flags & BPF_F_ALLOW_MULTI));
  if (isErr(pl)) return pl;
  const oldProg = pl.prog;
  pl.prog = null; // marked deleted, so that the recomputed arrays leave it out
  pl.link = null;
  updateEffectiveProgs(cgrp, atype);
  progs.splice(progs.indexOf(pl), 1);
  if (k.profile.cgroupMprog) cgrp.bpf.revisions[atype]! += 1;
  if (!progs.length) cgrp.bpf.flags[atype] = 0;
  if (oldProg) bpfProgPut(k, oldProg);
  return 0;
}

// ---- query ----

/** __cgroup_bpf_query(): the list (or with BPF_F_QUERY_EFFECTIVE the effective array) of one
 * attach type. attach_flags reports the list's mode, and so does every prog_attach_flags element;
 * link_ids and link_attach_flags are never written. */
export function __cgroupBpfQuery(k: CgroupContext, cgrp: Cgroup, type: number, attr: QueryAttr): QueryOut | number {
  const effectiveQuery = !!(attr.query_flags & BPF_F_QUERY_EFFECTIVE);
  const { arrays } = attr;
  if (effectiveQuery && arrays.prog_attach_flags) return -EINVAL;
  const out: QueryOut = { ret: 0, attach_flags: 0, revision: 0, count: 0, prog_ids: [], link_ids: [], prog_attach_flags: [], link_attach_flags: [] };
  if (type === BPF_LSM_CGROUP) {
    // The CGROUP_LSM_START..END slots: none of them can hold a sequence's program.
    if (!effectiveQuery && attr.count && arrays.prog_ids && !arrays.prog_attach_flags) return -EINVAL;
    return out;
  }
  const atype = bpfCgroupAtypeFind(type);
  if (atype < 0) return -EINVAL;
  const list = effectiveQuery ? cgrp.bpf.effective[atype]! : cgrp.bpf.progs[atype]!.map(progListProg).filter((p): p is BpfProg => p !== null);
  out.count = list.length;
  out.attach_flags = effectiveQuery ? 0 : cgrp.bpf.flags[atype]!;
  if (k.profile.cgroupMprog && !effectiveQuery) out.revision = cgrp.bpf.revisions[atype]!;
  if (attr.count === 0 || !arrays.prog_ids || !out.count) return out;
  let cnt = out.count;
  if (attr.count < cnt) {
    cnt = attr.count;
    out.ret = -ENOSPC;
  }
  if (effectiveQuery) {
    const copied = bpfProgArrayCopyToUser(
      list.map((p) => p.id),
      attr,
      cnt,
    );
    if (isErr(copied)) return copied;
    return { ...out, ret: copied.ret, prog_ids: copied.ids };
  }
  // The list's ids one by one, then its flags: the first entry past the caller's arrays faults.
  if (!queryArraysHold(attr, cnt)) return -EFAULT;
  out.prog_ids = list.slice(0, cnt).map((p) => p.id);
  if (arrays.prog_attach_flags) out.prog_attach_flags = new Array<number>(cnt).fill(cgrp.bpf.flags[atype]!);
  return out;
}

// ---- the bpf(2) entry points ----

/** The BPF_PROG_ATTACH/DETACH fields the cgroup code reads. */
export interface CgroupAttachAttr {
  target_fd: number;
  attach_type: number;
  attach_flags: number;
  attach_bpf_fd: number;
  replace_bpf_fd: number;
  relative_fd: number;
  expected_revision: number;
}

/** cgroup_bpf_prog_attach(): the replaced program is looked up only for MULTI|REPLACE. */
export function cgroupBpfProgAttach(k: CgroupContext, attr: CgroupAttachAttr, ptype: BpfProgType, prog: BpfProg): number {
  const cgrp = cgroupGetFromFd(k.files, attr.target_fd);
  if (isErr(cgrp)) return cgrp;
  let replaceProg: BpfProg | null = null;
  if (attr.attach_flags & BPF_F_ALLOW_MULTI && attr.attach_flags & BPF_F_REPLACE) {
    const rp = bpfProgGetType(k, attr.replace_bpf_fd, ptype);
    if (isErr(rp)) return rp;
    replaceProg = rp;
  }
  const ret = __cgroupBpfAttach(k, cgrp, prog, replaceProg, null, attr.attach_type, attr.attach_flags, attr.relative_fd, attr.expected_revision);
  if (!ret) bpfProgInc(prog); // the entry's reference, the one bpf_prog_attach() took
  return ret;
}

/** cgroup_bpf_prog_detach(): a program fd that does not resolve means "no program". */
export function cgroupBpfProgDetach(k: CgroupContext, attr: CgroupAttachAttr, ptype: BpfProgType): number {
  const cgrp = cgroupGetFromFd(k.files, attr.target_fd);
  if (isErr(cgrp)) return cgrp;
  const prog = bpfProgGetType(k, attr.attach_bpf_fd, ptype);
  return __cgroupBpfDetach(k, cgrp, isErr(prog) ? null : prog, null, attr.attach_type, attr.expected_revision);
}

/** cgroup_bpf_prog_query(). */
export function cgroupBpfProgQuery(k: CgroupContext, targetFd: number, type: number, attr: QueryAttr): QueryOut | number {
  const cgrp = cgroupGetFromFd(k.files, targetFd);
  if (isErr(cgrp)) return cgrp;
  return __cgroupBpfQuery(k, cgrp, type, attr);
}

// ---- links ----

/** struct bpf_cgroup_link: its cgroup until it is detached or the cgroup is released. */
export class CgroupLink extends BpfLink implements CgroupLinkRef {
  constructor(
    ops: BpfLinkOps,
    prog: BpfProg,
    public cgroup: Cgroup | null,
    readonly attachType: number,
  ) {
    super(BPF_LINK_TYPE_CGROUP, ops, prog);
  }
}

/** bpf_cgroup_link_release(), also BPF_LINK_DETACH: a link already cut loose does nothing. */
function bpfCgroupLinkRelease(k: CgroupContext, link: CgroupLink): void {
  if (!link.cgroup) return;
  __cgroupBpfDetach(k, link.cgroup, null, link, link.attachType, 0);
  link.cgroup = null;
}

/** cgroup_bpf_storages_compatible(): the same storage map of each type (none counts as one).
 * __cgroup_bpf_attach()'s BPF_F_REPLACE has no such check: the entry takes the new program's
 * storages (bpf_cgroup_storages_assign()), whatever the old one's were. */
function cgroupBpfStoragesCompatible(oldProg: BpfProg, newProg: BpfProg): boolean {
  return oldProg.cgroupStorage.every((map, stype) => map === newProg.cgroupStorage[stype]);
}

/** __cgroup_bpf_replace(): the link's entry takes the new program in place; the revision moves
 * on even when it is the same program. */
function __cgroupBpfReplace(k: CgroupContext, cgrp: Cgroup, link: CgroupLink, newProg: BpfProg): number {
  const atype = bpfCgroupAtypeFind(link.attachType);
  if (atype < 0) return -EINVAL;
  const progs = cgrp.bpf.progs[atype]!;
  if (link.prog.type !== newProg.type) return -EINVAL;
  if (k.profile.cgroupLinkUpdateAttachTypeChecked) {
    // The types only, not the caller: on 6.18.44 a caller without CAP_NET_ADMIN updates a
    // cgroup_skb link (corpus/caps/cgroup.json, measured 2026-12-07), where an attach of that
    // program would be EPERM.
    const err = bpfProgAttachCheckAttachType({ profile: k.profile, caps: ALL_CAPS, unprivilegedBpfDisabled: 0 }, newProg, link.attachType);
    if (err) return err;
  }
  if (!progs.some((pl) => pl.link === link)) return -ENOENT;
  if (k.profile.cgroupLinkUpdateStorageChecked && !cgroupBpfStoragesCompatible(link.prog, newProg)) return -EINVAL;
  if (k.profile.cgroupMprog) cgrp.bpf.revisions[atype]! += 1;
  const oldProg = link.prog;
  bpfProgInc(newProg); // the link's reference, taken by link_update()
  link.prog = newProg;
  updateEffectiveProgs(cgrp, atype); // replace_effective_prog(): the same slot in every array
  bpfProgPut(k, oldProg);
  return 0;
}

/** cgroup_bpf_replace(): a link whose cgroup is gone is ENOLINK. */
function cgroupBpfReplace(k: CgroupContext, link: CgroupLink, newProg: BpfProg, oldProg: BpfProg | null): number {
  if (!link.cgroup) return -ENOLINK;
  if (oldProg && link.prog !== oldProg) return -EPERM;
  return __cgroupBpfReplace(k, link.cgroup, link, newProg);
}

/** bpf_cgroup_link_lops. */
export function cgroupLinkOps(k: CgroupContext): BpfLinkOps {
  return {
    release: (link) => bpfCgroupLinkRelease(k, link as CgroupLink),
    detach: (link) => (bpfCgroupLinkRelease(k, link as CgroupLink), 0),
    updateProg: (link, nprog, oprog) => cgroupBpfReplace(k, link as CgroupLink, nprog, oprog),
    fillInfo: (link) => {
      const l = link as CgroupLink;
      return { cgroup_id: l.cgroup ? l.cgroup.id : 0, attach_type: l.attachType };
    },
  };
}

/** BPF_F_LINK_ATTACH_MASK of the profile's kernel: what link_create of a cgroup link takes. */
function linkAttachMask(profile: Profile): number {
  return (profile.cgroupMprog ? BPF_F_ID | BPF_F_BEFORE | BPF_F_AFTER | BPF_F_LINK : 0) | (profile.cgroupPreorder ? BPF_F_PREORDER : 0);
}

/** The BPF_LINK_CREATE fields the cgroup code reads (link_create.cgroup). */
export interface CgroupLinkAttr {
  target_fd: number;
  attach_type: number;
  flags: number;
  relative_fd: number;
  expected_revision: number;
}

/** cgroup_bpf_link_attach(): a link is always multi; its id is reserved before the attach and
 * lost when the attach fails. Returns the new link's fd. */
export function cgroupBpfLinkAttach(k: CgroupContext, ops: BpfLinkOps, attr: CgroupLinkAttr, prog: BpfProg): number {
  if (attr.flags & ~linkAttachMask(k.profile)) return -EINVAL;
  const cgrp = cgroupGetFromFd(k.files, attr.target_fd);
  if (isErr(cgrp)) return cgrp;
  const link = new CgroupLink(ops, prog, cgrp, attr.attach_type);
  const primer = bpfLinkPrime(k, link);
  const err = __cgroupBpfAttach(
    k,
    cgrp,
    null,
    null,
    link,
    attr.attach_type,
    BPF_F_ALLOW_MULTI | attr.flags,
    attr.relative_fd,
    attr.expected_revision,
  );
  if (err) {
    link.cgroup = null;
    bpfLinkCleanup(k, primer);
    return err;
  }
  bpfProgInc(prog);
  return bpfLinkSettle(k, primer);
}

// ---- cgroup removal ----

/** cgroup_bpf_release(), once a removed cgroup's last reference is gone: plain programs are
 * dropped, links are cut loose (bpf_cgroup_link_auto_detach: cgroup id 0 from then on, ENOLINK
 * on update). No revision moves: nothing can query the cgroup any more. */
export function cgroupBpfRelease(k: CgroupContext, cgrp: Cgroup): void {
  for (let atype = 0; atype < MAX_CGROUP_BPF_ATTACH_TYPE; atype++) {
    for (const pl of cgrp.bpf.progs[atype]!) {
      if (pl.prog) bpfProgPut(k, pl.prog);
      if (pl.link) pl.link.cgroup = null;
    }
    cgrp.bpf.progs[atype] = [];
    cgrp.bpf.effective[atype] = [];
  }
}
