// Version profiles: the semantics visible through bpf(2) that differ between kernel releases.
// kernel/bpf/mprog.c itself is unchanged from v6.6 to 7.x; what differs is which attach types
// exist at all. Each difference names the commit that made it.

export interface ProfileDifference {
  behaviour: string;
  commit: string;
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
  differences: ProfileDifference[];
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
  behaviour: 'cgroup attach and link_create take BPF_F_PREORDER (such programs run before the others, the deepest cgroup\'s last); before, EINVAL',
  commit: CGROUP_PREORDER_COMMIT,
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
  behaviour: 'netkit devices made in single mode answer EOPNOTSUPP to every mprog command (not reachable from mprog-seq/1: its netkit devices are pairs)',
  commit: '"netkit: Add single device mode for netkit" (v7.0)',
};
const TCX_DETACH_PERMISSIONS = {
  behaviour: 'BPF_PROG_DETACH of tcx/netkit without a program fd needs CAP_NET_ADMIN (EPERM otherwise; no effect for root)',
  commit: 'ae23bc81ddf7 "bpf: Fix tcx/netkit detach permissions when prog fd isn\'t given" (also in 6.12.114+)',
};

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
    differences: [
      not(CGROUP_MPROG),
      not(CGROUP_PREORDER),
      { behaviour: 'no tcx and no netkit: their attach types are unknown, every call on them is EINVAL', commit: TCX_COMMIT },
    ],
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
    differences: [
      { behaviour: 'no netkit: BPF_NETKIT_PRIMARY/PEER are unknown attach types (EINVAL)', commit: NETKIT_COMMIT },
      { ...CGROUP_SKB_CHECKED, behaviour: `not yet: ${CGROUP_SKB_CHECKED.behaviour}` },
      not(CGROUP_MPROG),
      not(CGROUP_PREORDER),
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
    differences: [
      { behaviour: 'no netkit: BPF_NETKIT_PRIMARY/PEER are unknown attach types (EINVAL)', commit: NETKIT_COMMIT },
      CGROUP_SKB_CHECKED,
      not(CGROUP_MPROG),
      not(CGROUP_PREORDER),
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
    differences: [{ ...CGROUP_SKB_CHECKED, behaviour: `not yet: ${CGROUP_SKB_CHECKED.behaviour}` }, not(CGROUP_MPROG), not(CGROUP_PREORDER)],
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
    differences: [not(CGROUP_MPROG), not(CGROUP_PREORDER)],
  },
  {
    name: '6.12.110',
    from: '6.12.110',
    to: '6.13',
    tcx: true,
    netkit: true,
    maxAttachType: 57,
    mprogMax: 63,
    cgroupSkbAttachTypeChecked: true,
    cgroupMprog: true,
    cgroupPreorder: true,
    differences: [CGROUP_MPROG, CGROUP_PREORDER],
  },
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
    differences: [
      not(CGROUP_MPROG),
      not(CGROUP_PREORDER),
      UPROBE_SESSION,
    ],
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
    differences: [
      not(CGROUP_MPROG),
      CGROUP_PREORDER,
      UPROBE_SESSION,
    ],
  },
  {
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
    differences: [
      CGROUP_MPROG,
      CGROUP_PREORDER,
      TRACING_SESSIONS,
      NETKIT_SINGLE_MODE,
      TCX_DETACH_PERMISSIONS,
    ],
  },
];

export const DEFAULT_PROFILE = '6.12.110';

export function findProfile(name: string): Profile | undefined {
  return PROFILES.find((p) => p.name === name);
}

/** "6.12.57+deb13-cloud-amd64" (or a profile bound such as "6.6.33") as one comparable number. */
function versionNumber(release: string): number | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) return undefined;
  return (Number(m[1]) * 1000 + Number(m[2])) * 100000 + Number(m[3] ?? 0);
}

/** The profile for a kernel release such as "6.12.57+deb13-cloud-amd64". */
export function profileForRelease(release: string): Profile | undefined {
  const version = versionNumber(release);
  if (version === undefined) return undefined;
  return PROFILES.find((p) => version >= versionNumber(p.from)! && (p.to === null || version < versionNumber(p.to)!));
}
