// kernel/bpf/mprog.c and include/linux/bpf_mprog.h: the ordered program list of one attach point.
//
// The kernel keeps two copies of the item array (entry and peer) so that RCU readers never see a
// half-written list; only one is visible through bpf(2) at a time, so one list stands for both
// here. The revision lives in the bundle both copies share.

import { EBUSY, EEXIST, EFAULT, EINVAL, ENOENT, ENOSPC, ERANGE, ESTALE } from '../uapi/errno.js';
import { isErr } from './err.js';
import { type BpfLink, type LinkTables, bpfLinkById, bpfLinkGetFromFd } from './link.js';
import { type BpfProg, bpfProgById, bpfProgGet, bpfProgPut } from './prog.js';
import type { Profile } from './profiles.js';
import { BPF_F_AFTER, BPF_F_BEFORE, BPF_F_ID, BPF_F_LINK, BPF_F_REPLACE, BPF_PROG_TYPE } from '../uapi/bpf.js';

/** What the mprog rules read besides the entry: objects for relatives, and the version's limits. */
export interface MprogContext extends LinkTables {
  profile: Profile;
}

export interface BpfTuple {
  prog: BpfProg | null;
  link: BpfLink | null;
}

/** struct bpf_mprog_bundle: what outlives the A/B entries, the revision above all. */
export class BpfMprogBundle {
  revision = 1; // bpf_mprog_bundle_init()
  /** A deleted plain program whose reference goes at the commit (bpf_mprog_mark_for_release()). */
  ref: BpfProg | null = null;
}

/** struct bpf_mprog_entry: the attached programs in run order. */
export class BpfMprogEntry {
  readonly items: BpfTuple[] = [];
  constructor(readonly parent: BpfMprogBundle) {}
}

/** bpf_mprog_max(): MAX_BPF_MPROG slots, the last kept empty as the end marker. */
export function bpfMprogMax(k: MprogContext): number {
  return k.profile.mprogMax;
}

/** bpf_mprog_total(). */
export function bpfMprogTotal(entry: BpfMprogEntry): number {
  return entry.items.length;
}

/** bpf_mprog_revision(). */
export function bpfMprogRevision(entry: BpfMprogEntry): number {
  return entry.parent.revision;
}

/** bpf_mprog_exists(): a program is attached at most once per entry. */
function bpfMprogExists(entry: BpfMprogEntry, prog: BpfProg): boolean {
  return entry.items.some((item) => item.prog === prog);
}

/** bpf_mprog_mark_for_release(): a deleted plain program is dropped only at the commit. */
function bpfMprogMarkForRelease(entry: BpfMprogEntry, tuple: BpfTuple): void {
  if (!tuple.link) entry.parent.ref = tuple.prog;
}

/** bpf_mprog_complete_release(). */
function bpfMprogCompleteRelease(k: LinkTables, entry: BpfMprogEntry): void {
  if (entry.parent.ref) {
    bpfProgPut(k, entry.parent.ref);
    entry.parent.ref = null;
  }
}

/** bpf_mprog_revision_new(). */
function bpfMprogRevisionNew(entry: BpfMprogEntry): void {
  entry.parent.revision++;
}

/** bpf_mprog_commit(): the change is visible. */
export function bpfMprogCommit(k: LinkTables, entry: BpfMprogEntry): void {
  bpfMprogCompleteRelease(k, entry);
  bpfMprogRevisionNew(entry);
}

// ---- resolving the relative object ----

/** bpf_mprog_link(): the relative is a link, by id (BPF_F_ID) or by fd. */
function bpfMprogLink(k: LinkTables, idOrFd: number, flags: number, type: number): BpfTuple | number {
  let link: BpfLink | number = -EINVAL;
  if (flags & BPF_F_ID) link = bpfLinkById(k, idOrFd);
  else if (idOrFd) link = bpfLinkGetFromFd(k, idOrFd);
  if (isErr(link)) return link;
  if (type && link.prog.type !== type) return -EINVAL;
  return { prog: link.prog, link };
}

/** bpf_mprog_prog(): the relative is a program, by id (BPF_F_ID) or by fd. */
function bpfMprogProg(k: LinkTables, idOrFd: number, flags: number, type: number): BpfTuple | number {
  let prog: BpfProg | number = -EINVAL;
  if (flags & BPF_F_ID) prog = bpfProgById(k, idOrFd);
  else if (idOrFd) prog = bpfProgGet(k, idOrFd);
  if (isErr(prog)) return prog;
  if (type && prog.type !== type) return -EINVAL;
  return { prog, link: null };
}

/** bpf_mprog_tuple_relative(): no BPF_F_LINK/BPF_F_ID and no id_or_fd means "no relative"
 * (BEFORE/AFTER then mean first/last). */
function bpfMprogTupleRelative(k: LinkTables, idOrFd: number, flags: number, type: number): BpfTuple | number {
  if (flags & BPF_F_LINK) return bpfMprogLink(k, idOrFd, flags, type);
  if (!(flags & BPF_F_ID) && !idOrFd) return { prog: null, link: null };
  return bpfMprogProg(k, idOrFd, flags, type);
}

// ---- positions: each rule computes its own; all must agree ----

/** bpf_mprog_pos_exact(): the slot of exactly this program, owned by exactly this link (or none). */
function bpfMprogPosExact(entry: BpfMprogEntry, tuple: BpfTuple): number {
  const i = entry.items.findIndex((item) => item.prog === tuple.prog);
  if (i < 0) return -ENOENT;
  return entry.items[i]!.link === tuple.link ? i : -EBUSY;
}

/** Index of the relative; a program relative also matches a link-owned slot of that program. */
function findRelative(entry: BpfMprogEntry, tuple: BpfTuple): number {
  return entry.items.findIndex((item) => item.prog === tuple.prog && (!tuple.link || tuple.link === item.link));
}

/** bpf_mprog_pos_before(): the slot before the relative; -1 ("first") without one. */
function bpfMprogPosBefore(entry: BpfMprogEntry, tuple: BpfTuple): number {
  const i = tuple.prog ? findRelative(entry, tuple) : -1;
  if (i >= 0) return i - 1;
  return tuple.prog ? -ENOENT : -1;
}

/** bpf_mprog_pos_after(): the slot after the relative; total ("last") without one. */
function bpfMprogPosAfter(entry: BpfMprogEntry, tuple: BpfTuple): number {
  const i = tuple.prog ? findRelative(entry, tuple) : -1;
  if (i >= 0) return i + 1;
  return tuple.prog ? -ENOENT : bpfMprogTotal(entry);
}

/**
 * The BEFORE and AFTER rules of bpf_mprog_attach()/bpf_mprog_detach() (the kernel writes them out
 * in both; they are the same, so one function here): each computes a position
 * from the relative; a position already fixed (-ERANGE: none yet) by REPLACE or by the program to
 * detach must agree. With no rule at all, a request without relative and flags means "last".
 * Returns the agreed position (-1 first .. total last), or -errno.
 */
function bpfMprogPosition(k: MprogContext, entry: BpfMprogEntry, rtuple: BpfTuple, flags: number, idx: number): { idx: number } | number {
  if (flags & BPF_F_BEFORE) {
    const tidx = bpfMprogPosBefore(entry, rtuple);
    if (tidx < -1 || (idx >= -1 && tidx !== idx)) return tidx < -1 ? tidx : -ERANGE;
    idx = tidx;
  }
  if (flags & BPF_F_AFTER) {
    const tidx = bpfMprogPosAfter(entry, rtuple);
    if (tidx < -1 || (idx >= -1 && tidx !== idx)) return tidx < 0 ? tidx : -ERANGE;
    idx = tidx;
  }
  if (idx < -1) {
    if (rtuple.prog || flags) return -EINVAL;
    idx = bpfMprogTotal(entry);
  }
  if (idx >= bpfMprogMax(k)) return -ERANGE;
  return { idx };
}

// ---- the three list operations ----

/** bpf_mprog_replace(): overwrite one slot in place. */
function bpfMprogReplace(k: LinkTables, entry: BpfMprogEntry, ntuple: BpfTuple, idx: number): void {
  const oprog = entry.items[idx]!.prog;
  entry.items[idx] = ntuple;
  if (!ntuple.link && oprog) bpfProgPut(k, oprog);
}

/**
 * bpf_mprog_insert(): `idx` is a position in the old list; the new list gets a hole there and the
 * program goes into it. BEFORE P3 (old idx 1, the slot before P3) must land at new idx 2, so
 * BEFORE moves one on; AFTER P2 is old and new idx 2 alike; at `total` (AFTER the last, or no
 * rule) it appends:
 *
 *   +--+--+--+     +--+--+--+--+     +--+--+--+--+
 *   |P1|P2|P3| ==> |P1|P2|  |P3| ==> |P1|P2|P4|P3|
 *   +--+--+--+     +--+--+--+--+     +--+--+--+--+
 */
function bpfMprogInsert(entry: BpfMprogEntry, ntuple: BpfTuple, idx: number, flags: number): void {
  const total = bpfMprogTotal(entry);
  if (idx !== total && flags & BPF_F_BEFORE) idx += 1;
  entry.items.splice(idx, 0, ntuple);
}

/** bpf_mprog_delete(): -1 means the first slot, total the last. */
function bpfMprogDelete(entry: BpfMprogEntry, idx: number): void {
  const total = bpfMprogTotal(entry);
  if (idx === -1) idx = 0;
  else if (idx === total) idx = total - 1;
  bpfMprogMarkForRelease(entry, entry.items.splice(idx, 1)[0]!);
}

/**
 * bpf_mprog_attach(): insert `progNew` (owned by `link`, or plain), or with BPF_F_REPLACE put it
 * in the slot of `progOld`. On success the entry is changed and the caller commits.
 */
export function bpfMprogAttach(
  k: MprogContext,
  entry: BpfMprogEntry,
  progNew: BpfProg,
  link: BpfLink | null,
  progOld: BpfProg | null,
  flags: number,
  idOrFd: number,
  revision: number,
): number {
  if (revision && revision !== bpfMprogRevision(entry)) return -ESTALE;
  if (bpfMprogExists(entry, progNew)) return -EEXIST;
  const rtuple = bpfMprogTupleRelative(k, idOrFd, flags & ~BPF_F_REPLACE, progNew.type);
  if (isErr(rtuple)) return rtuple;
  let idx = -ERANGE;
  if (flags & BPF_F_REPLACE) {
    const tidx = bpfMprogPosExact(entry, { prog: progOld, link });
    if (tidx < 0) return tidx;
    idx = tidx;
  } else if (bpfMprogTotal(entry) === bpfMprogMax(k)) {
    return -ERANGE;
  }
  const pos = bpfMprogPosition(k, entry, rtuple, flags, idx);
  if (isErr(pos)) return pos;
  const ntuple = { prog: progNew, link };
  if (flags & BPF_F_REPLACE) bpfMprogReplace(k, entry, ntuple, pos.idx);
  else bpfMprogInsert(entry, ntuple, pos.idx, flags);
  return 0;
}

/** bpf_mprog_fetch(): the slot a positional detach lands on; the opts path may not remove a link. */
function bpfMprogFetch(entry: BpfMprogEntry, tuple: BpfTuple, idx: number): number {
  const total = bpfMprogTotal(entry);
  if (idx === -1) idx = 0;
  else if (idx === total) idx = total - 1;
  const item = entry.items[idx]!;
  if (item.link && !tuple.link) return -EBUSY;
  return 0;
}

/**
 * bpf_mprog_detach(): remove `prog` (or, without a program, the slot the flags and relative
 * select; plain detach with neither removes the last). On success (0) the caller commits.
 */
export function bpfMprogDetach(
  k: MprogContext,
  entry: BpfMprogEntry,
  prog: BpfProg | null,
  link: BpfLink | null,
  flags: number,
  idOrFd: number,
  revision: number,
): number {
  if (flags & BPF_F_REPLACE) return -EINVAL;
  if (revision && revision !== bpfMprogRevision(entry)) return -ESTALE;
  if (!bpfMprogTotal(entry)) return -ENOENT;
  const rtuple = bpfMprogTupleRelative(k, idOrFd, flags, prog ? prog.type : BPF_PROG_TYPE.UNSPEC);
  if (isErr(rtuple)) return rtuple;
  let idx = -ERANGE;
  if (prog) {
    const tidx = bpfMprogPosExact(entry, { prog, link });
    if (tidx < 0) return tidx;
    idx = tidx;
  }
  const pos = bpfMprogPosition(k, entry, rtuple, flags, idx);
  if (isErr(pos)) return pos;
  const ret = bpfMprogFetch(entry, { prog, link }, pos.idx);
  if (ret) return ret;
  bpfMprogDelete(entry, pos.idx);
  return 0;
}

// ---- query ----

/** Which of the query's four array pointers are passed (non-NULL). */
export interface QueryArrays {
  prog_ids: boolean;
  prog_attach_flags: boolean;
  link_ids: boolean;
  link_attach_flags: boolean;
}

/** Every array passed: what a query names when it names none. */
export const ALL_QUERY_ARRAYS: Readonly<QueryArrays> = { prog_ids: true, prog_attach_flags: true, link_ids: true, link_attach_flags: true };

/** The query part of union bpf_attr; the arrays named in `arrays` are passed when `count` > 0. */
export interface QueryAttr {
  query_flags: number;
  attach_flags: number;
  count: number;
  arrays: QueryArrays;
  /** Not in the attr: how many entries each of the caller's arrays holds, with unmapped memory
   * after it (so a copy_to_user() past it fails), whatever count the attr says. */
  userArrayEntries: number;
}

/** copy_to_user() of n entries into each passed array: past the caller's arrays it faults. */
export function queryArraysHold(attr: QueryAttr, n: number): boolean {
  return n <= attr.userArrayEntries;
}

/** What BPF_PROG_QUERY wrote back, with the syscall's return value. */
export interface QueryOut {
  ret: number;
  attach_flags: number;
  revision: number;
  count: number;
  prog_ids: number[];
  link_ids: number[];
  prog_attach_flags: number[];
  link_attach_flags: number[];
}

/** bpf_mprog_query(): a missing entry reads as revision 1, count 0. Returns -errno when nothing
 * was written. */
export function bpfMprogQuery(attr: QueryAttr, entry: BpfMprogEntry | null): QueryOut | number {
  if (attr.query_flags || attr.attach_flags) return -EINVAL;
  const total = entry ? bpfMprogTotal(entry) : 0;
  const out: QueryOut = {
    ret: 0,
    attach_flags: 0,
    revision: entry ? bpfMprogRevision(entry) : 1,
    count: total,
    prog_ids: [],
    link_ids: [],
    prog_attach_flags: [],
    link_attach_flags: [],
  };
  if (attr.count === 0 || !attr.arrays.prog_ids || !total || !entry) return out;
  let n = total;
  if (attr.count < total) {
    n = attr.count;
    out.ret = -ENOSPC;
  }
  // Entry by entry: the first one past the caller's arrays faults.
  if (!queryArraysHold(attr, n)) return -EFAULT;
  for (let i = 0; i < n; i++) {
    const item = entry.items[i]!;
    out.prog_ids.push(item.prog!.id);
    if (attr.arrays.prog_attach_flags) out.prog_attach_flags.push(0);
    if (attr.arrays.link_ids) out.link_ids.push(item.link ? item.link.id : 0);
    if (attr.arrays.link_attach_flags) out.link_attach_flags.push(0);
  }
  return out;
}

/** bpf_mprog_foreach_tuple(): every attached slot, for tearing an attach point down. */
export function bpfMprogTuples(entry: BpfMprogEntry): readonly BpfTuple[] {
  return entry.items;
}
