// Version profiles: the semantics visible through bpf(2) that differ between kernel releases.
// kernel/bpf/mprog.c itself is unchanged from v6.6 to 7.x; what differs is which attach types
// exist at all. Each difference names the commit that made it.
//
// qdiscs beside tcx (emulator/sch-api.ts, sch-ingress.ts, tcx.ts) have no difference to name from
// 6.6 to 7.3: net/sched/sch_ingress.c is the same in 6.12.117 and 7.3.4, and the two fixes on
// that path predate every profile's kernels or are not reachable by qdisc_add/qdisc_delete —
// d210f9735e13 "bpf: Fix mprog detachment for empty mprog entry" (6.6-rc1: detach on an empty
// live entry indexed the array with -1; ENOENT since) and 1cb6f0bae504 "bpf: Fix too early
// release of tcx_entry" (6.10, CVE-2024-41010; only `tc qdisc replace` of ingress by clsact).
//
// Nor has the flow dissector (emulator/net-namespace.ts, flow-dissector.ts): net_namespace.c
// behaves the same in 6.12.117 and 7.3.4, and the one fix on its syscall path, ba62d61128bd "bpf:
// Refuse unused attributes in bpf_prog_{attach,detach}" (relative_fd/expected_revision EINVAL for
// types that are not mprog), came in v6.6-rc5, before any profile's first release (6.6.87 measured).

export interface ProfileDifference {
  behaviour: string;
  commit: string;
}

/** A real kernel the profile was compared with, and how (which kernels, which corpus, when). */
export interface ProfileCheck {
  /** The kernel's release (`uname -r`, or the exact version it was built from). */
  release: string;
  where: string;
}

export interface Profile {
  name: string;
  /** The kernel releases the profile stands for, [from, to) as "major.minor[.patch]". */
  from: string;
  to: string | null;
  /** BPF_TCX_INGRESS/EGRESS exist. */
  tcx: boolean;
  /** BPF_NETKIT_PRIMARY/PEER exist. */
  netkit: boolean;
  /** __MAX_BPF_ATTACH_TYPE: attach types at or above it are unknown (EINVAL). */
  maxAttachType: number;
  /** bpf_mprog_max(): programs one entry holds (MAX_BPF_MPROG - 1; 63 in every release so far). */
  mprogMax: number;
  /** bpf_prog_attach_check_attach_type() compares a cgroup_skb program's type with the attach
   * type's (before: BPF_LINK_CREATE of one on any attach type takes the cgroup path). */
  cgroupSkbAttachTypeChecked: boolean;
  /** kernel/bpf/cgroup.c speaks the mprog API: BPF_F_BEFORE/AFTER/ID/LINK, relatives and
   * expected_revision on cgroup attach types, and a revision in their query. */
  cgroupMprog: boolean;
  /** cgroup attach and link_create take BPF_F_PREORDER. */
  cgroupPreorder: boolean;
  /** BPF_LINK_UPDATE of a cgroup link checks the new program against the link's attach type as
   * attaching it would (a sockopt program loaded for the other hook: EINVAL); before, only the
   * program type. */
  cgroupLinkUpdateAttachTypeChecked: boolean;
  /** BPF_LINK_UPDATE of a cgroup link refuses a program with other cgroup storage maps
   * (__cgroup_bpf_replace(): cgroup_bpf_storages_compatible(), EINVAL). */
  cgroupLinkUpdateStorageChecked: boolean;
  /** BPF_PROG_DETACH of tcx/netkit without a program fd needs bpf_net_capable() (EPERM). */
  detachEmptyChecked: boolean;
  /** BPF_PROG_QUERY and a cgroup_skb program's attach take CAP_SYS_ADMIN for CAP_NET_ADMIN. */
  netAdminOrSysAdmin: boolean;
  /** __sys_bpf() refuses every command with EPERM when unprivileged_bpf_disabled is set and the
   * caller lacks CAP_BPF (before the check moved into map_create() and bpf_prog_load()). */
  sysBpfUnprivEntry: boolean;
  differences: ProfileDifference[];
  /** The attr front of bpf(2) (emulator/bpf-attr.ts); absent: attrLayout()'s for the release. */
  attr?: AttrLayout;
  /** The real kernels it was checked against (what README.md and the notes record; empty:
   * never compared with a kernel of its range). A divergence on a newer release says so. */
  checked: ProfileCheck[];
}

/** sizeof(union bpf_attr) and offsetofend(BPF_<cmd>_LAST_FIELD) of each command, from the uapi
 * bpf.h and syscall.c of the release; cgroupQueryRevisionSized: __cgroup_bpf_query() writes
 * query.revision only when the caller's size reaches it. */
export interface AttrLayout {
  size: number;
  lastFieldEnd: Record<'prog_attach' | 'prog_detach' | 'query' | 'link_create' | 'link_update' | 'link_detach' | 'link_info', number>;
  cgroupQueryRevisionSized: boolean;
}

/** 6.12.117's syscall.c: ATTACH/DETACH expected_revision (32), QUERY query.revision (64),
 * LINK_CREATE link_create.uprobe_multi.pid (60), LINK_UPDATE old_prog_fd (16), LINK_DETACH
 * link_fd (4), OBJ_GET_INFO_BY_FD info.info (16); sizeof(union bpf_attr) 152. */
export const ATTR_6_12: AttrLayout = {
  size: 152,
  lastFieldEnd: { prog_attach: 32, prog_detach: 32, query: 64, link_create: 60, link_update: 16, link_detach: 4, link_info: 16 },
  cgroupQueryRevisionSized: true,
};
/** Before BPF tokens (v6.9): sizeof(union bpf_attr) 144, prog_load ending at log_true_size. */
export const ATTR_6_6: AttrLayout = { ...ATTR_6_12, size: 144 };
export const ATTR_UNION_144 = {
  behaviour:
    "sizeof(union bpf_attr) is 144 (a non-zero byte at 144..151 of a larger attr is __sys_bpf()'s E2BIG, not CHECK_ATTR's EINVAL); from 6.9 on 152",
  commit: '"bpf: Add BPF token support to BPF_PROG_LOAD command" (v6.9: prog_load.prog_token_fd; 144 measured on 6.6.87, 2026-12-07)',
};
/** 7.3.4's: LINK_CREATE_LAST_FIELD link_create.uprobe_multi.path_fd (64); sizeof 168. */
export const ATTR_7_3: AttrLayout = { ...ATTR_6_12, size: 168, lastFieldEnd: { ...ATTR_6_12.lastFieldEnd, link_create: 64 } };

export const UPROBE_PATH_FD = {
  behaviour:
    'BPF_LINK_CREATE_LAST_FIELD is link_create.uprobe_multi.path_fd (offsetofend 64): bytes 60..63 of a link_create attr may be non-zero; before, EINVAL (last field uprobe_multi.pid, 60)',
  commit: '"bpf: Add path_fd to uprobe_multi link" (uapi of 7.3.4; not in 6.12.117)',
};
export const ATTR_UNION_168 = {
  behaviour: "sizeof(union bpf_attr) is 168 (a byte at 152..167 of a larger attr is CHECK_ATTR's EINVAL, not __sys_bpf's E2BIG); 6.12.117: 152",
  commit:
    '"bpf: Implement signature verification for BPF programs" and "bpf: Implement exclusive map creation" (v6.18: prog_load\'s signature/keyring_id, map_create\'s excl_prog_hash; measured on 6.18.44, uapi bpf.h of 7.3.4)',
};
export const QUERY_REVISION_SIZED = {
  behaviour:
    "a cgroup BPF_PROG_QUERY writes query.revision only when the caller's attr_size reaches it (offsetofend 64); before, it wrote it past a shorter attr (beyond_size)",
  commit:
    '21c4b99b27f3 "bpf: fix BPF_PROG_QUERY OOB write and cgroup backward compat" (v7.2; in 6.12.117 and 7.3.4). tcx/netkit queries (bpf_mprog_query()) still write it unconditionally',
};

/** The attr layout of a profile: its own, else 7.3's from 6.17 on, else 6.12's. */
export function attrLayout(p: Profile): AttrLayout {
  if (p.attr) return p.attr;
  return p.cgroupMprog && !p.name.startsWith('6.12') ? ATTR_7_3 : ATTR_6_12;
}

const TCX_COMMIT = 'e420bed02507 "bpf: Add fd-based tcx multi-prog infra with link support" (v6.6)';
const NETKIT_COMMIT = '35dfaad7188c "netkit, bpf: Add bpf programmable net device" (v6.7)';
const CGROUP_SKB_CHECK_COMMIT = '543576ec15b1 "bpf: Add BPF_PROG_TYPE_CGROUP_SKB attach type enforcement in BPF_LINK_CREATE" (v6.10; 6.6.33, 6.8.12)';

const CGROUP_MPROG_COMMIT =
  '1209339844 "bpf: Implement mprog API on top of existing cgroup progs" with 9b8367b604c7 "cgroup: Add bpf prog revisions to struct cgroup_bpf" (v6.17; 6.12.110)';
const CGROUP_PREORDER_COMMIT = '"bpf: Allow pre-ordering for bpf cgroup progs" (v6.15; in 6.12.117, assumed from 6.12.110 with the mprog series)';

const CGROUP_MPROG = {
  behaviour:
    'cgroup attach types take BPF_F_BEFORE/AFTER/ID/LINK, a relative and expected_revision (BPF_PROG_ATTACH, BPF_PROG_DETACH, BPF_LINK_CREATE), and their query writes the revision; before, those flags and fields are EINVAL, link_create flags must be 0 and the query writes no revision',
  commit: CGROUP_MPROG_COMMIT,
};
const CGROUP_PREORDER = {
  behaviour: "cgroup attach and link_create take BPF_F_PREORDER (such programs run before the others, the deepest cgroup's last); before, EINVAL",
  commit: CGROUP_PREORDER_COMMIT,
};
/** Seen on 6.18.44 (2026-12-07) and in no Debian kernel up to 7.3.4; the upstream commit is not
 * identified yet (kernel-semantics.md §9): the profile claims only the release it was seen on. */
const CGROUP_LINK_UPDATE_ATTACH_TYPE = {
  behaviour:
    "BPF_LINK_UPDATE of a cgroup link checks the new program as bpf_prog_attach_check_attach_type() does for the link's attach type, after the ENOLINK of a defunct link and the EPERM of an old_prog mismatch: a cgroup_sockopt program loaded for the other hook is EINVAL (so are sock and sock_addr ones); a cgroup_skb program without an enforced expected attach type passes; before, only the program type was compared",
  commit: '"cgroup replace fix" (2026, commit not identified; seen on 6.18.44, absent from 6.12.117, 6.17.13, 7.2.13 and 7.3.4)',
};
const CGROUP_LINK_UPDATE_STORAGE = {
  behaviour:
    "BPF_LINK_UPDATE of a cgroup link refuses a new program whose cgroup storage map of either type is another one than the old program's (none counts as one): EINVAL, after the link's entry is found; before, the link took it (its storage then the old program's, or none)",
  commit:
    '"cgroup_bpf_storages_compatible()" in __cgroup_bpf_replace() (the commit that added it not identified, its title neither; in the sources of 6.12.117, 7.2.13 and 7.3.4, measured on 6.12.117, 6.18.44 and 7.3.4; absent from 6.17.13, measured: corpus/maps/link-update.json)',
};
const not = (d: ProfileDifference): ProfileDifference => ({ ...d, behaviour: `not yet: ${d.behaviour}` });

/** The release a difference came in, for the profiles after it. */
const CGROUP_SKB_CHECKED = {
  behaviour:
    'BPF_LINK_CREATE of a cgroup_skb program checks that the attach type takes cgroup_skb programs (EINVAL); before, it went to cgroup_bpf_link_attach() for any attach type (EINVAL for flags, else EBADF: target_fd is no cgroup)',
  commit: CGROUP_SKB_CHECK_COMMIT,
};

/** Tracing attach types after 6.12's last (56): not modelled (their programs cannot be loaded by
 * a sequence), so every profile answers them as an unknown type would be. */
const UPROBE_SESSION = {
  behaviour: 'attach type 57 exists (BPF_TRACE_UPROBE_SESSION), a tracing type, not modelled, where 6.12 answers EINVAL for an unknown type',
  commit: '"bpf: Add support for uprobe multi session attach" (v6.13)',
};
const TRACING_SESSIONS = {
  behaviour:
    'attach types 57..61 exist (BPF_TRACE_UPROBE_SESSION, BPF_TRACE_FSESSION, BPF_TRACE_FENTRY_MULTI, BPF_TRACE_FEXIT_MULTI, BPF_TRACE_FSESSION_MULTI); they are tracing types, not modelled, where 6.12 answers EINVAL for an unknown type',
  commit: '"bpf: Add support for uprobe multi session attach" (v6.13) and the tracing session/multi series after it (uapi bpf.h of 7.2.13)',
};
const NETKIT_SINGLE_MODE = {
  behaviour:
    'netkit devices made in single mode answer EOPNOTSUPP to every mprog command (not reachable from mprog-seq/1: its netkit devices are pairs)',
  commit: '"netkit: Add single device mode for netkit" (v7.0)',
};
/** Upstream in v7.0; stable 6.18.14 and 6.19.4 (CVE-2026-45932: "affected >=6.6.0 <6.18.14,
 * >=6.19.0 <6.19.4"); 6.12.114 (Debian's 6.12 changelog lists it under that stable update). Not
 * in 6.17.13 (measured: debian-6.17) nor 6.6.87 (measured); profiles 6.12.110, 6.17 and 6.19 are
 * the ranges without it. */
const TCX_DETACH_PERMISSIONS = {
  behaviour:
    'BPF_PROG_DETACH of tcx/netkit without a program fd (attach_bpf_fd 0: the first or last program, by flags) needs CAP_NET_ADMIN or CAP_SYS_ADMIN (bpf_mprog_detach_empty(): EPERM, after the attach flags check, before the device lookup); before, any caller could detach so',
  commit: 'ae23bc81ddf7 "bpf: Fix tcx/netkit detach permissions when prog fd isn\'t given" (v7.0; 6.18.14, 6.19.4, 6.12.114; CVE-2026-45932)',
};
const NET_ADMIN_ALIGN = {
  behaviour:
    'BPF_PROG_QUERY, and the attach of a cgroup_skb program (BPF_PROG_ATTACH: EINVAL; BPF_LINK_CREATE: EPERM), take CAP_SYS_ADMIN for CAP_NET_ADMIN; before, CAP_NET_ADMIN alone',
  commit:
    'ed1ad5a7415d "bpf: Align CAP_NET_ADMIN checks with bpf_capable() approach" (v6.9; the 6.12 profile also covers 6.8.12-6.8.y, which lack it)',
};
const UNPRIV_ENTRY = {
  behaviour:
    'with kernel.unprivileged_bpf_disabled set, a caller without CAP_BPF (or CAP_SYS_ADMIN) is refused (EPERM) by BPF_MAP_CREATE and BPF_PROG_LOAD only; before, by __sys_bpf() for every command',
  commit: '1d28635abcf1 "bpf: Move unprivileged checks into map_create() and bpf_prog_load()" (v6.5)',
};

/** 6.17 on: the cgroup mprog API upstream. */
const V7_2: Profile = {
  name: '7.2',
  from: '6.17',
  to: null,
  tcx: true,
  netkit: true,
  maxAttachType: 62,
  mprogMax: 63,
  cgroupSkbAttachTypeChecked: true,
  cgroupMprog: true,
  cgroupPreorder: true,
  cgroupLinkUpdateAttachTypeChecked: false,
  cgroupLinkUpdateStorageChecked: true,
  detachEmptyChecked: true,
  netAdminOrSysAdmin: true,
  sysBpfUnprivEntry: false,
  differences: [
    CGROUP_MPROG,
    CGROUP_PREORDER,
    NET_ADMIN_ALIGN,
    UNPRIV_ENTRY,
    TRACING_SESSIONS,
    NETKIT_SINGLE_MODE,
    TCX_DETACH_PERMISSIONS,
    not(CGROUP_LINK_UPDATE_ATTACH_TYPE),
    CGROUP_LINK_UPDATE_STORAGE,
    ATTR_UNION_168,
    UPROBE_PATH_FD,
    QUERY_REVISION_SIZED,
  ],
  attr: ATTR_7_3,
  checked: [
    { release: '7.3.4', where: "Debian's debian-7.3 (7.3.4), x86_64 and arm64, the shipped corpus, 2026-11-29" },
    { release: '7.2.13', where: "Debian's debian-7.2 (7.2.13), x86_64 and arm64, the shipped corpus, 2026-11-29" },
  ],
};

/** Debian's 6.12 (6.12.117): the cgroup mprog API and preorder backported, and ae23bc81ddf7 (6.12.114). */
const V6_12_114: Profile = {
  name: '6.12.114',
  from: '6.12.114',
  to: '6.13',
  tcx: true,
  netkit: true,
  maxAttachType: 57,
  mprogMax: 63,
  cgroupSkbAttachTypeChecked: true,
  cgroupMprog: true,
  cgroupPreorder: true,
  cgroupLinkUpdateAttachTypeChecked: false,
  cgroupLinkUpdateStorageChecked: true,
  detachEmptyChecked: true,
  netAdminOrSysAdmin: true,
  sysBpfUnprivEntry: false,
  differences: [NET_ADMIN_ALIGN, TCX_DETACH_PERMISSIONS, CGROUP_MPROG, CGROUP_PREORDER, CGROUP_LINK_UPDATE_STORAGE],
  checked: [
    {
      release: '6.12.117',
      where:
        "Debian's debian-6.12 and mprog-6.12 (6.12.117), x86_64 and arm64, the shipped corpus, 2026-11-29; debian-6.12, x86_64 and arm64, corpus/caps, 2026-12-07",
    },
  ],
};

/**
 * A stable range of `p`'s rules before ae23bc81ddf7 reached it: without the detach check, and never
 * checked on its own.
 */
function beforeDetachPermissions(p: Profile, range: Pick<Profile, 'name' | 'from' | 'to'>): Profile {
  return {
    ...p,
    ...range,
    detachEmptyChecked: false,
    differences: p.differences.map((d) => (d === TCX_DETACH_PERMISSIONS ? not(d) : d)),
    checked: [],
  };
}

export const PROFILES: readonly Profile[] = [
  {
    name: '6.1',
    from: '6.1',
    to: '6.6',
    tcx: false,
    netkit: false,
    maxAttachType: 44,
    mprogMax: 63,
    // The CVE-2024-38564 fix reached the 6.1 stable series too; Debian's 6.1 has it.
    cgroupSkbAttachTypeChecked: true,
    cgroupMprog: false,
    cgroupPreorder: false,
    cgroupLinkUpdateAttachTypeChecked: false,
    cgroupLinkUpdateStorageChecked: false,
    detachEmptyChecked: false,
    netAdminOrSysAdmin: false,
    sysBpfUnprivEntry: true,
    differences: [
      not(UNPRIV_ENTRY),
      not(NET_ADMIN_ALIGN),
      not(CGROUP_MPROG),
      not(CGROUP_PREORDER),
      { behaviour: 'no tcx and no netkit: their attach types are unknown, every call on them is EINVAL', commit: TCX_COMMIT },
    ],
    checked: [], // debian-6.1 (no tcx): every sequence unsupported, nothing compared
  },
  {
    name: '6.6',
    from: '6.6',
    to: '6.6.33',
    tcx: true,
    netkit: false,
    maxAttachType: 49,
    mprogMax: 63,
    cgroupSkbAttachTypeChecked: false,
    cgroupMprog: false,
    cgroupPreorder: false,
    cgroupLinkUpdateAttachTypeChecked: false,
    cgroupLinkUpdateStorageChecked: false,
    detachEmptyChecked: false,
    netAdminOrSysAdmin: false,
    sysBpfUnprivEntry: false,
    attr: ATTR_6_6,
    differences: [
      ATTR_UNION_144,
      not(NET_ADMIN_ALIGN),
      not(TCX_DETACH_PERMISSIONS),
      { behaviour: 'no netkit: BPF_NETKIT_PRIMARY/PEER are unknown attach types (EINVAL)', commit: NETKIT_COMMIT },
      { ...CGROUP_SKB_CHECKED, behaviour: `not yet: ${CGROUP_SKB_CHECKED.behaviour}` },
      not(CGROUP_MPROG),
      not(CGROUP_PREORDER),
    ],
    checked: [
      { release: '6.6.9', where: 'a kernel.org 6.6.9 tree built here (tinyconfig + mprog.fragment), x86_64, 10,687 generated tcx steps, 2026-11-29' },
    ],
  },
  {
    name: '6.6.33',
    from: '6.6.33',
    to: '6.7',
    tcx: true,
    netkit: false,
    maxAttachType: 49,
    mprogMax: 63,
    cgroupSkbAttachTypeChecked: true,
    cgroupMprog: false,
    cgroupPreorder: false,
    cgroupLinkUpdateAttachTypeChecked: false,
    cgroupLinkUpdateStorageChecked: false,
    detachEmptyChecked: false,
    netAdminOrSysAdmin: false,
    sysBpfUnprivEntry: false,
    attr: ATTR_6_6,
    differences: [
      ATTR_UNION_144,
      not(NET_ADMIN_ALIGN),
      not(TCX_DETACH_PERMISSIONS),
      { behaviour: 'no netkit: BPF_NETKIT_PRIMARY/PEER are unknown attach types (EINVAL)', commit: NETKIT_COMMIT },
      CGROUP_SKB_CHECKED,
      not(CGROUP_MPROG),
      not(CGROUP_PREORDER),
    ],
    checked: [
      {
        release: '6.6.87',
        where:
          'a public 6.6.87 tree built with mprog kernel build (the images of ../shared/kernels/), x86_64 and arm64, the shipped corpus, 2026-12-07',
      },
    ],
  },
  {
    name: '6.7',
    from: '6.7',
    to: '6.8.12',
    tcx: true,
    netkit: true,
    maxAttachType: 56, // BPF_TRACE_KPROBE_SESSION (56) came in 6.10
    mprogMax: 63,
    cgroupSkbAttachTypeChecked: false,
    cgroupMprog: false,
    cgroupPreorder: false,
    cgroupLinkUpdateAttachTypeChecked: false,
    cgroupLinkUpdateStorageChecked: false,
    detachEmptyChecked: false,
    netAdminOrSysAdmin: false,
    sysBpfUnprivEntry: false,
    attr: ATTR_6_6,
    differences: [
      ATTR_UNION_144,
      not(NET_ADMIN_ALIGN),
      not(TCX_DETACH_PERMISSIONS),
      { ...CGROUP_SKB_CHECKED, behaviour: `not yet: ${CGROUP_SKB_CHECKED.behaviour}` },
      not(CGROUP_MPROG),
      not(CGROUP_PREORDER),
    ],
    checked: [],
  },
  {
    name: '6.12',
    // 6.9.0 .. 6.9.2 may predate the 6.9 stable backport of CGROUP_SKB_CHECKED (not checked).
    from: '6.8.12',
    to: '6.12.110',
    tcx: true,
    netkit: true,
    maxAttachType: 57,
    mprogMax: 63,
    cgroupSkbAttachTypeChecked: true,
    cgroupMprog: false,
    cgroupPreorder: false,
    cgroupLinkUpdateAttachTypeChecked: false,
    cgroupLinkUpdateStorageChecked: false,
    detachEmptyChecked: false,
    netAdminOrSysAdmin: true,
    sysBpfUnprivEntry: false,
    differences: [NET_ADMIN_ALIGN, not(TCX_DETACH_PERMISSIONS), not(CGROUP_MPROG), not(CGROUP_PREORDER)],
    checked: [],
  },
  beforeDetachPermissions(V6_12_114, { name: '6.12.110', from: '6.12.110', to: '6.12.114' }), // 6.12.110-6.12.113: no such kernel was at hand
  V6_12_114,
  {
    name: '6.13',
    from: '6.13',
    to: '6.15',
    tcx: true,
    netkit: true,
    maxAttachType: 58,
    mprogMax: 63,
    cgroupSkbAttachTypeChecked: true,
    cgroupMprog: false,
    cgroupPreorder: false,
    cgroupLinkUpdateAttachTypeChecked: false,
    cgroupLinkUpdateStorageChecked: false,
    detachEmptyChecked: false,
    netAdminOrSysAdmin: true,
    sysBpfUnprivEntry: false,
    differences: [NET_ADMIN_ALIGN, not(TCX_DETACH_PERMISSIONS), not(CGROUP_MPROG), not(CGROUP_PREORDER), UPROBE_SESSION],
    checked: [],
  },
  {
    name: '6.15',
    from: '6.15',
    to: '6.17',
    tcx: true,
    netkit: true,
    maxAttachType: 58,
    mprogMax: 63,
    cgroupSkbAttachTypeChecked: true,
    cgroupMprog: false,
    cgroupPreorder: true,
    cgroupLinkUpdateAttachTypeChecked: false,
    cgroupLinkUpdateStorageChecked: false,
    detachEmptyChecked: false,
    netAdminOrSysAdmin: true,
    sysBpfUnprivEntry: false,
    differences: [NET_ADMIN_ALIGN, not(TCX_DETACH_PERMISSIONS), not(CGROUP_MPROG), CGROUP_PREORDER, UPROBE_SESSION],
    checked: [{ release: '6.16.12', where: "Debian's debian-6.16 (6.16.12), x86_64 and arm64, the shipped corpus, 2026-11-29" }],
  },
  // Stable series without ae23bc81ddf7 yet, inside 7.2's range and beginning where it does: listed
  // before it, so profileForRelease (which keeps the first of those beginning last) takes them.
  {
    ...V7_2,
    name: '6.17',
    from: '6.17',
    to: '6.18.14',
    detachEmptyChecked: false,
    // Measured on debian-6.17 (corpus/maps, 2026-12-07): a cgroup link takes a program with another storage.
    cgroupLinkUpdateStorageChecked: false,
    differences: V7_2.differences.map((d) =>
      [TCX_DETACH_PERMISSIONS, UPROBE_PATH_FD, QUERY_REVISION_SIZED, ATTR_UNION_168, CGROUP_LINK_UPDATE_STORAGE].includes(d) ? not(d) : d,
    ),
    // Measured on debian-6.17 (corpus/attr, 2026-12-07): BPF_LINK_CREATE_LAST_FIELD uprobe_multi.pid,
    // and a cgroup query writes query.revision past a short attr (no 21c4b99b27f3). The union's
    // size, 152, is ATTR_UNION_168's commits' (v6.18), not measured: no step of the corpus tells.
    attr: { ...ATTR_6_12, cgroupQueryRevisionSized: false },
    checked: [
      {
        release: '6.17.13',
        where:
          "Debian's debian-6.17 (6.17.13), x86_64 and arm64, the shipped corpus, 2026-11-29; x86_64, corpus/caps (a caller with CAP_BPF alone detaches without a program fd: no ae23bc81ddf7), 2026-12-07; x86_64, corpus/maps (a cgroup link takes a program with another storage), 2026-12-07",
      },
    ],
  },
  beforeDetachPermissions(V7_2, { name: '6.19', from: '6.19', to: '6.19.4' }),
  V7_2,
  // A stable series that has a change its successors' releases do not have yet: a range inside
  // 7.2's, which profileForRelease prefers as the narrower one.
  {
    ...V7_2,
    name: '6.18.44',
    from: '6.18.44',
    to: '6.19',
    cgroupLinkUpdateAttachTypeChecked: true,
    differences: [
      ...V7_2.differences.filter((d) => d.commit !== CGROUP_LINK_UPDATE_ATTACH_TYPE.commit && d !== UPROBE_PATH_FD),
      CGROUP_LINK_UPDATE_ATTACH_TYPE,
      not(UPROBE_PATH_FD),
    ],
    // Measured on the host (corpus/attr): sizeof(union bpf_attr) 168, BPF_LINK_CREATE_LAST_FIELD uprobe_multi.pid.
    attr: { ...ATTR_7_3, lastFieldEnd: { ...ATTR_7_3.lastFieldEnd, link_create: 60 } },
    checked: [{ release: '6.18.44-fc-v1300', where: "this project's host, x86_64, the shipped corpus, 2026-12-07" }],
  },
];

export const DEFAULT_PROFILE = '6.12.114';

export function findProfile(name: string): Profile | undefined {
  return PROFILES.find((p) => p.name === name);
}

/** "6.12.57+deb13-cloud-amd64" (or a profile bound such as "6.6.33") as one comparable number. */
function versionNumber(release: string): number | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) return undefined;
  return (Number(m[1]) * 1000 + Number(m[2])) * 100000 + Number(m[3] ?? 0);
}

/** The profile for a kernel release such as "6.12.57+deb13-cloud-amd64": of the profiles whose
 * range holds it, the one that begins last (a stable series' own range inside a wider one). */
export function profileForRelease(release: string): Profile | undefined {
  const version = versionNumber(release);
  if (version === undefined) return undefined;
  const holding = PROFILES.filter((p) => version >= versionNumber(p.from)! && (p.to === null || version < versionNumber(p.to)!));
  return holding.reduce<Profile | undefined>((best, p) => (best && versionNumber(best.from)! >= versionNumber(p.from)! ? best : p), undefined);
}

/** The profile's newest check (by release), if it was ever checked. */
export function newestCheck(profile: Profile): ProfileCheck | undefined {
  return profile.checked.reduce<ProfileCheck | undefined>(
    (best, c) => (best && versionNumber(best.release)! >= versionNumber(c.release)! ? best : c),
    undefined,
  );
}

/**
 * How `release` stands to the profile's checks: `checked` (a check ran on this very release, by
 * major.minor.sublevel), `older` (not itself, but not beyond the newest check), `newer` (beyond
 * the newest check: the kernel may have moved since), `never` (the profile was never checked).
 */
export function checkStanding(profile: Profile, release: string): 'checked' | 'older' | 'newer' | 'never' {
  const newest = newestCheck(profile);
  const version = versionNumber(release);
  if (!newest || version === undefined) return 'never';
  if (profile.checked.some((c) => versionNumber(c.release) === version)) return 'checked';
  return version > versionNumber(newest.release)! ? 'newer' : 'older';
}
