// kernel/bpf/net_namespace.c: the programs a network namespace holds (the flow dissector, and
// sk_lookup as far as its query goes), attached directly (BPF_PROG_ATTACH, one program that an
// attach replaces) or through links (BPF_LINK_CREATE), never both. The same in 6.12.117 and
// 7.3.4 (7.3 keeps the link's attach type in struct bpf_link: no visible difference).

import { E2BIG, EBADF, EEXIST, EINVAL, ENOENT, ENOLINK, EPERM } from '../uapi/errno.js';
import { BPF_FLOW_DISSECTOR, BPF_LINK_TYPE_NETNS, BPF_SK_LOOKUP, type BpfProgType } from '../uapi/bpf.js';
import { isErr } from './err.js';
import type { FdTable } from './fdtable.js';
import { flowDissectorBpfProgAttachCheck } from './flow-dissector.js';
import { BpfLink, type BpfLinkOps, type LinkTables, bpfLinkCleanup, bpfLinkPrime, bpfLinkSettle } from './link.js';
import { bpfProgArrayCopyToUser } from './core.js';
import type { QueryAttr, QueryOut } from './mprog.js';
import { type BpfProg, bpfProgGetType, bpfProgInc, bpfProgPut } from './prog.js';

/** enum netns_bpf_attach_type. */
export const NETNS_BPF_FLOW_DISSECTOR = 0;
export const NETNS_BPF_SK_LOOKUP = 1;
type NetnsType = typeof NETNS_BPF_FLOW_DISSECTOR | typeof NETNS_BPF_SK_LOOKUP;

/** struct netns_bpf: per attach type, the directly attached program, the links, and whether a run
 * array is published (what flow_dissector_bpf_prog_attach_check() looks at). */
export class NetnsBpf {
  readonly progs: (BpfProg | null)[] = [null, null];
  readonly links: BpfNetnsLink[][] = [[], []];
  readonly runArray: boolean[] = [false, false];
}

/** struct net, the part these paths read: its inode number (ns.inum) and its bpf programs. */
export interface NetNs {
  readonly inum: number;
  readonly bpf: NetnsBpf;
}

/** struct bpf_netns_link: `net` is null once detached (no reference to the netns is held). */
export class BpfNetnsLink extends BpfLink {
  net: NetNs | null;
  constructor(
    ops: BpfLinkOps,
    prog: BpfProg,
    readonly attachType: number,
    readonly netnsType: NetnsType,
    net: NetNs,
  ) {
    super(BPF_LINK_TYPE_NETNS, ops, prog);
    this.net = net;
  }
}

/** What these paths need of the kernel: the fd table and ids, the caller's netns, init_net. */
export interface NetnsContext extends LinkTables {
  /** current->nsproxy->net_ns: the sequence's namespace. */
  readonly netns: NetNs;
  readonly initNet: NetNs;
  readonly netnsLinkOps: BpfLinkOps;
}

/** to_netns_bpf_attach_type(): -1 for any other attach type. */
export function toNetnsBpfAttachType(attachType: number): NetnsType | -1 {
  if (attachType === BPF_FLOW_DISSECTOR) return NETNS_BPF_FLOW_DISSECTOR;
  if (attachType === BPF_SK_LOOKUP) return NETNS_BPF_SK_LOOKUP;
  return -1;
}

/** get_net_ns_by_fd(): EBADF for no open file, EINVAL for a file that is not a netns. */
export function getNetNsByFd(files: FdTable, fd: number): NetNs | number {
  const file = files.get(fd);
  if (!file) return -EBADF;
  return file.kind === 'netns' ? file.net : -EINVAL;
}

/** netns_bpf_max_progs(). */
function netnsBpfMaxProgs(type: NetnsType): number {
  return type === NETNS_BPF_FLOW_DISSECTOR ? 1 : 64;
}

/** The run array's programs: the attached one, or the links' in list order. */
function runArrayProgs(net: NetNs, type: NetnsType): BpfProg[] {
  if (!net.bpf.runArray[type]) return [];
  const attached = net.bpf.progs[type];
  return attached ? [attached] : net.bpf.links[type]!.map((l) => l.prog);
}

/** netns_bpf_prog_query() and __netns_bpf_prog_query(): attach_flags 0 and the count are written,
 * then the program ids (no revision, no link ids, no per-program flags: the caller's stay). */
export function netnsBpfProgQuery(k: NetnsContext, targetFd: number, attachType: number, attr: QueryAttr): QueryOut | number {
  if (attr.query_flags) return -EINVAL;
  const type = toNetnsBpfAttachType(attachType);
  if (type < 0) return -EINVAL;
  const net = getNetNsByFd(k.files, targetFd);
  if (isErr(net)) return net;
  const progs = runArrayProgs(net, type as NetnsType);
  const out: QueryOut = {
    ret: 0,
    count: progs.length,
    revision: 0,
    attach_flags: 0,
    prog_ids: [],
    link_ids: [],
    prog_attach_flags: [],
    link_attach_flags: [],
  };
  if (!attr.count || !attr.arrays.prog_ids || !progs.length) return out;
  // The whole count the caller asked for, not the number attached (its ENOSPC needs two
  // programs, which only sk_lookup holds, and no sequence can load one).
  const copied = bpfProgArrayCopyToUser(
    progs.map((p) => p.id),
    attr,
    attr.count,
  );
  if (isErr(copied)) return copied;
  return { ...out, ret: copied.ret, prog_ids: copied.ids };
}

/** netns_bpf_prog_attach(): the program replaces the attached one; the reference that
 * bpf_prog_attach() took is kept on success. */
export function netnsBpfProgAttach(
  k: NetnsContext,
  attr: { target_fd: number; attach_flags: number; replace_bpf_fd: number; attach_type: number },
  prog: BpfProg,
): number {
  if (attr.target_fd || attr.attach_flags || attr.replace_bpf_fd) return -EINVAL;
  const type = toNetnsBpfAttachType(attr.attach_type);
  if (type < 0) return -EINVAL;
  const net = k.netns;
  // "Attaching prog directly is not compatible with links"
  if (net.bpf.links[type]!.length) return -EEXIST;
  const check = type === NETNS_BPF_FLOW_DISSECTOR ? flowDissectorBpfProgAttachCheck(k, net) : -EINVAL;
  if (check) return check;
  const attached = net.bpf.progs[type]!;
  if (attached === prog) return -EINVAL; // "The same program cannot be attached twice"
  net.bpf.runArray[type] = true;
  net.bpf.progs[type] = prog;
  bpfProgInc(prog); // the namespace's reference, the one bpf_prog_attach() took
  if (attached) bpfProgPut(k, attached);
  return 0;
}

/** netns_bpf_prog_detach() and __netns_bpf_prog_detach(). */
export function netnsBpfProgDetach(
  k: NetnsContext,
  attr: { target_fd: number; attach_type: number; attach_bpf_fd: number },
  ptype: BpfProgType,
): number {
  if (attr.target_fd) return -EINVAL;
  const type = toNetnsBpfAttachType(attr.attach_type);
  if (type < 0) return -EINVAL;
  const prog = bpfProgGetType(k, attr.attach_bpf_fd, ptype);
  if (isErr(prog)) return prog;
  const net = k.netns;
  // "Progs attached via links cannot be detached"
  if (net.bpf.links[type]!.length) return -EINVAL;
  const attached = net.bpf.progs[type];
  if (!attached || attached !== prog) return -ENOENT;
  net.bpf.runArray[type] = false;
  net.bpf.progs[type] = null;
  bpfProgPut(k, attached);
  return 0;
}

/** netns_bpf_link_attach(): one link at most for the flow dissector, none beside a program. */
function netnsBpfLinkAttach(k: NetnsContext, net: NetNs, link: BpfNetnsLink, type: NetnsType): number {
  if (net.bpf.links[type]!.length >= netnsBpfMaxProgs(type)) return -E2BIG;
  // "Links are not compatible with attaching prog directly"
  if (net.bpf.progs[type]) return -EEXIST;
  const check = type === NETNS_BPF_FLOW_DISSECTOR ? flowDissectorBpfProgAttachCheck(k, net) : 0;
  if (check) return check;
  net.bpf.links[type]!.push(link);
  net.bpf.runArray[type] = true;
  return 0;
}

/** netns_bpf_link_create(): the link's id is reserved before the attach, and lost when it fails.
 * link_create.flags must be 0; relative_fd and expected_revision (the tcx/netkit members of the
 * attr's union) are not looked at. Returns the link's fd. */
export function netnsBpfLinkCreate(k: NetnsContext, attr: { flags: number; attach_type: number; target_fd: number }, prog: BpfProg): number {
  if (attr.flags) return -EINVAL;
  const type = toNetnsBpfAttachType(attr.attach_type);
  if (type < 0) return -EINVAL;
  const net = getNetNsByFd(k.files, attr.target_fd);
  if (isErr(net)) return net;
  const link = new BpfNetnsLink(k.netnsLinkOps, prog, attr.attach_type, type as NetnsType, net);
  const primer = bpfLinkPrime(k, link);
  const err = netnsBpfLinkAttach(k, net, link, type as NetnsType);
  if (err) {
    bpfLinkCleanup(k, primer);
    return err;
  }
  bpfProgInc(prog); // the link's reference (link_create() keeps bpf_prog_get()'s)
  return bpfLinkSettle(k, primer);
}

/** bpf_netns_link_release(): off the namespace's list; the run array goes with the last one. */
function bpfNetnsLinkRelease(link: BpfNetnsLink): void {
  const net = link.net;
  if (!net) return;
  const links = net.bpf.links[link.netnsType]!;
  links.splice(links.indexOf(link), 1);
  if (!links.length) net.bpf.runArray[link.netnsType] = false;
  link.net = null;
}

/** bpf_netns_link_update_prog(). */
function bpfNetnsLinkUpdateProg(k: NetnsContext, link: BpfNetnsLink, newProg: BpfProg, oldProg: BpfProg | null): number {
  if (oldProg && oldProg !== link.prog) return -EPERM;
  if (newProg.type !== link.prog.type) return -EINVAL;
  if (!link.net) return -ENOLINK; // "Link auto-detached or netns dying"
  bpfProgInc(newProg);
  const old = link.prog;
  link.prog = newProg;
  bpfProgPut(k, old);
  return 0;
}

/** bpf_netns_link_ops. */
export function netnsLinkOps(k: NetnsContext): BpfLinkOps {
  const netnsLink = (link: BpfLink): BpfNetnsLink => link as BpfNetnsLink;
  return {
    release: (link) => bpfNetnsLinkRelease(netnsLink(link)),
    // bpf_netns_link_detach(): a release; a second one finds nothing to do.
    detach: (link) => {
      bpfNetnsLinkRelease(netnsLink(link));
      return 0;
    },
    updateProg: (link, nprog, oprog) => bpfNetnsLinkUpdateProg(k, netnsLink(link), nprog, oprog),
    // bpf_netns_link_fill_info(): netns_ino 0 once detached.
    fillInfo: (link) => ({ netns_ino: netnsLink(link).net?.inum ?? 0, attach_type: netnsLink(link).attachType }),
  };
}
