// The bpf(2)-facing half of kernel/bpf/tcx.c and drivers/net/netkit.c. Both files wrap
// bpf_mprog_{attach,detach,query}() the same way — find the device, fetch the entry, run the
// mprog rule, publish and commit — and differ only in where the entry lives and when it goes.
// Those differences are the MprogAttachPoint each of tcx.ts and netkit.ts supplies; the functions
// here are tcx_prog_attach()/netkit_prog_attach() and their siblings, written once.

import { ENOENT, ENOLINK, EPERM } from '../uapi/errno.js';
import { isErr } from './err.js';
import { type BpfLinkOps, BpfLink, bpfLinkCleanup, bpfLinkPrime, bpfLinkSettle } from './link.js';
import {
  type BpfMprogEntry,
  type MprogContext,
  bpfMprogAttach,
  bpfMprogCommit,
  bpfMprogDetach,
  bpfMprogQuery,
  bpfMprogTuples,
  type QueryAttr,
  type QueryOut,
} from './mprog.js';
import type { Net, NetDevice } from './netdev.js';
import { type BpfProg, bpfProgGetType, bpfProgInc, bpfProgPut } from './prog.js';
import { BPF_F_ID, BPF_F_REPLACE } from '../uapi/bpf.js';

export interface AttachContext extends MprogContext {
  net: Net;
}

/** The device-specific half: where an attach point's entry lives and how long. */
export interface MprogAttachPoint {
  readonly linkType: number;
  /** tcx: __dev_get_by_index(); netkit_dev_fetch(): the device whose entry `attachType` names. */
  devFetch(net: Net, ifindex: number, attachType: number): NetDevice | number;
  /** The published entry, or null when none is (tcx_entry_fetch / netkit_entry_fetch(dev, false)). */
  entryFetch(dev: NetDevice, attachType: number): BpfMprogEntry | null;
  /** The entry an attach works on, and whether it was made for this attach. */
  entryForAttach(dev: NetDevice, attachType: number): { entry: BpfMprogEntry; created: boolean };
  /** After a committed change: publish the entry, or retire it when it became empty. */
  entryUpdate(dev: NetDevice, attachType: number, entry: BpfMprogEntry): void;
  /** After a failed attach on an entry made for it (tcx_entry_free). */
  entryDiscard(dev: NetDevice, attachType: number): void;
}

/** The BPF_PROG_ATTACH/DETACH fields the attach points read. */
export interface MprogAttachAttr {
  target_ifindex: number;
  attach_type: number;
  attach_flags: number;
  replace_bpf_fd: number;
  relative_fd: number;
  expected_revision: number;
}

/** The BPF_LINK_CREATE fields the attach points read (link_create.tcx / link_create.netkit). */
export interface MprogLinkAttr {
  target_ifindex: number;
  attach_type: number;
  flags: number;
  relative_fd: number;
  expected_revision: number;
}

/** The committed end of an attach: publish and bump the revision. */
function attachCommit(k: AttachContext, point: MprogAttachPoint, dev: NetDevice, type: number, entry: BpfMprogEntry): void {
  point.entryUpdate(dev, type, entry);
  bpfMprogCommit(k, entry);
}

/** The committed end of a detach: publish (or retire) the entry; a plain program is dropped. */
function detachCommit(k: AttachContext, point: MprogAttachPoint, dev: NetDevice, type: number, entry: BpfMprogEntry): void {
  point.entryUpdate(dev, type, entry);
  bpfMprogCommit(k, entry);
}

/** tcx_prog_attach() / netkit_prog_attach(). The slot keeps the program reference that
 * bpf_prog_attach() took. */
export function mprogProgAttach(k: AttachContext, point: MprogAttachPoint, attr: MprogAttachAttr, prog: BpfProg): number {
  const dev = point.devFetch(k.net, attr.target_ifindex, attr.attach_type);
  if (isErr(dev)) return dev;
  let replaceProg: BpfProg | null = null;
  if (attr.attach_flags & BPF_F_REPLACE) {
    const rp = bpfProgGetType(k, attr.replace_bpf_fd, prog.type);
    if (isErr(rp)) return rp;
    replaceProg = rp;
  }
  const { entry, created } = point.entryForAttach(dev, attr.attach_type);
  const ret = bpfMprogAttach(k, entry, prog, null, replaceProg, attr.attach_flags, attr.relative_fd, attr.expected_revision);
  if (ret) {
    if (created) point.entryDiscard(dev, attr.attach_type);
    return ret;
  }
  bpfProgInc(prog);
  attachCommit(k, point, dev, attr.attach_type, entry);
  return 0;
}

/** tcx_prog_detach() / netkit_prog_detach(). */
export function mprogProgDetach(k: AttachContext, point: MprogAttachPoint, attr: MprogAttachAttr, prog: BpfProg | null): number {
  const dev = point.devFetch(k.net, attr.target_ifindex, attr.attach_type);
  if (isErr(dev)) return dev;
  const entry = point.entryFetch(dev, attr.attach_type);
  if (!entry) return -ENOENT;
  const ret = bpfMprogDetach(k, entry, prog, null, attr.attach_flags, attr.relative_fd, attr.expected_revision);
  if (ret) return ret;
  detachCommit(k, point, dev, attr.attach_type, entry);
  return 0;
}

/** tcx_prog_query() / netkit_prog_query(). */
export function mprogProgQuery(k: AttachContext, point: MprogAttachPoint, ifindex: number, attachType: number, attr: QueryAttr): QueryOut | number {
  const dev = point.devFetch(k.net, ifindex, attachType);
  if (isErr(dev)) return dev;
  return bpfMprogQuery(attr, point.entryFetch(dev, attachType));
}

/** tcx_uninstall() / netkit_release_all(): the device goes; its links become defunct and its
 * plain programs are dropped. The entry is retired without a revision bump. */
export function mprogUninstall(k: AttachContext, point: MprogAttachPoint, dev: NetDevice, attachType: number): void {
  const entry = point.entryFetch(dev, attachType);
  if (!entry) return;
  for (const tuple of bpfMprogTuples(entry)) {
    if (tuple.link) (tuple.link as MprogLink).dev = null;
    else if (tuple.prog) bpfProgPut(k, tuple.prog);
  }
  entry.items.length = 0;
  point.entryUpdate(dev, attachType, entry);
}

/** struct tcx_link / struct netkit_link: a link remembers its device until it is detached. */
export class MprogLink extends BpfLink {
  constructor(
    ops: BpfLinkOps,
    prog: BpfProg,
    readonly point: MprogAttachPoint,
    public dev: NetDevice | null,
    /** tcx->location / nkl->location: the attach type. */
    readonly location: number,
  ) {
    super(point.linkType, ops, prog);
  }
}

/** tcx_link_prog_attach() / netkit_link_prog_attach(). */
function linkProgAttach(k: AttachContext, link: MprogLink, flags: number, idOrFd: number, revision: number): number {
  const dev = link.dev!;
  const { entry, created } = link.point.entryForAttach(dev, link.location);
  const ret = bpfMprogAttach(k, entry, link.prog, link, null, flags, idOrFd, revision);
  if (!ret) attachCommit(k, link.point, dev, link.location, entry);
  else if (created) link.point.entryDiscard(dev, link.location);
  return ret;
}

/** tcx_link_release() / netkit_link_release(): also what BPF_LINK_DETACH does. */
function linkRelease(k: AttachContext, link: MprogLink): void {
  const dev = link.dev;
  if (!dev) return;
  const entry = link.point.entryFetch(dev, link.location);
  if (!entry) return;
  if (bpfMprogDetach(k, entry, link.prog, link, 0, 0, 0)) return;
  detachCommit(k, link.point, dev, link.location, entry);
  link.dev = null;
}

/** tcx_link_update() / netkit_link_update(): the same program again is a no-op (no revision);
 * otherwise a REPLACE of the link's own slot, found by the current program's id. */
function linkUpdate(k: AttachContext, link: MprogLink, nprog: BpfProg, oprog: BpfProg | null): number {
  const dev = link.dev;
  if (!dev) return -ENOLINK;
  if (oprog && link.prog !== oprog) return -EPERM;
  oprog = link.prog;
  if (oprog === nprog) return 0;
  const entry = link.point.entryFetch(dev, link.location);
  if (!entry) return -ENOENT;
  const ret = bpfMprogAttach(k, entry, nprog, link, oprog, BPF_F_REPLACE | BPF_F_ID, oprog.id, 0);
  if (ret) return ret;
  bpfProgInc(nprog); // the link's reference, taken by link_update()
  link.prog = nprog;
  bpfProgPut(k, oprog);
  bpfMprogCommit(k, entry);
  return 0;
}

/** tcx_link_lops / netkit_link_lops. */
export function mprogLinkOps(k: AttachContext): BpfLinkOps {
  return {
    release: (link) => linkRelease(k, link as MprogLink),
    detach: (link) => (linkRelease(k, link as MprogLink), 0),
    updateProg: (link, nprog, oprog) => linkUpdate(k, link as MprogLink, nprog, oprog),
    fillInfo: (link) => {
      const l = link as MprogLink;
      return { ifindex: l.dev ? l.dev.ifindex : 0, attach_type: l.location };
    },
  };
}

/** tcx_link_attach() / netkit_link_attach(): the link id is reserved before the attach and is
 * lost if the attach fails. The link keeps the program reference link_create() took. */
export function mprogLinkAttach(k: AttachContext, point: MprogAttachPoint, ops: BpfLinkOps, attr: MprogLinkAttr, prog: BpfProg): number {
  const dev = point.devFetch(k.net, attr.target_ifindex, attr.attach_type);
  if (isErr(dev)) return dev;
  const link = new MprogLink(ops, prog, point, dev, attr.attach_type);
  const primer = bpfLinkPrime(k, link);
  const ret = linkProgAttach(k, link, attr.flags, attr.relative_fd, attr.expected_revision);
  if (ret) {
    link.dev = null;
    bpfLinkCleanup(k, primer);
    return ret;
  }
  bpfProgInc(prog);
  return bpfLinkSettle(k, primer);
}
