// The in-memory form of one mprog-seq/1 file (../shared/spec/mprog-seq.md), after parsing.
// Names stay symbolic; every number is already what goes into the bpf(2) attr.

import type { CapabilityName } from '../uapi/capability.js';
import type { KernelWorld } from './world.js';

/** Every network namespace has its loopback device at ifindex 1 (LOOPBACK_IFINDEX). */
export const LOOPBACK_IFINDEX = 1;

export type DeviceKind = 'veth' | 'netkit';
export type ProgramType = 'sched_cls' | 'xdp' | 'cgroup_skb' | 'cgroup_sockopt' | 'flow_dissector';

export interface DeviceDecl {
  name: string;
  kind: DeviceKind;
  peer: string;
}

export interface ProgramDecl {
  name: string;
  type: ProgramType;
  /** expected_attach_type at load: cgroup_sockopt's (the parser puts BPF_CGROUP_GETSOCKOPT when
   * the file gives none); absent means 0. */
  expected_attach_type?: number;
  /** The maps its body references (a ld_imm64 of each one's fd, in this order); absent: none. */
  maps?: string[];
}

export type MapType = 'cgroup_storage' | 'percpu_cgroup_storage' | 'array';
/** The most maps one program may list (the agent's PROG_MAPS_MAX; the verifier's is 64). */
export const PROG_MAPS_MAX = 16;
export const MAP_TYPES: readonly MapType[] = ['cgroup_storage', 'percpu_cgroup_storage', 'array'];

/** The map types each program type may use (spec "Maps"; docs/mprog-seq.md): cgroup storage only
 * in cgroup programs, where bpf_get_local_storage() exists; an array in any. */
export const PROGRAM_MAP_TYPES: Record<ProgramType, readonly MapType[]> = {
  sched_cls: ['array'],
  xdp: ['array'],
  flow_dissector: ['array'],
  cgroup_skb: MAP_TYPES,
  cgroup_sockopt: MAP_TYPES,
};

/** A map made before the programs (spec "Maps"); its parameters are fixed by its type (MAP_PARAMS). */
export interface MapDecl {
  name: string;
  type: MapType;
}

/** BPF_MAP_CREATE's attr for each map type: a cgroup storage keyed by struct
 * bpf_cgroup_storage_key (cgroup inode id and attach type, 16 bytes) with max_entries 0, which
 * cgroup_storage_map_alloc() requires; an array of one 8-byte value. */
export const MAP_PARAMS: Record<MapType, { key_size: number; value_size: number; max_entries: number }> = {
  cgroup_storage: { key_size: 16, value_size: 8, max_entries: 0 },
  percpu_cgroup_storage: { key_size: 16, value_size: 8, max_entries: 0 },
  array: { key_size: 4, value_size: 8, max_entries: 1 },
};

/** A cgroup made before step 0 (or by cgroup_create): a directory under the sequence's private
 * root; `parent` names an earlier cgroup, null for that root. */
export interface CgroupDecl {
  name: string;
  parent: string | null;
}

/** The attach target of a step (`dev`, `cgroup` or `netns` in the file): a device by name (resolved
 * to its ifindex at the time of the call) or a raw ifindex; a cgroup by name (its directory's fd) or
 * a raw target fd; the sequence's network namespace (`"self"`: target_fd 0 for BPF_PROG_ATTACH and
 * BPF_PROG_DETACH, which act on the caller's netns, an fd of it for BPF_LINK_CREATE and
 * BPF_PROG_QUERY) or a raw target fd. */
export type DevRef = { name: string } | { ifindex: number } | { cgroup: string } | { cgroupFd: number } | { netns: 'self' } | { netnsFd: number };

/** Whether a step's target is a network namespace (the flow dissector). */
export function isNetnsTarget(dev: DevRef): dev is { netns: 'self' } | { netnsFd: number } {
  return 'netns' in dev || 'netnsFd' in dev;
}

/** The query arrays a query step passes. */
export type QueryArrayName = 'prog_ids' | 'prog_attach_flags' | 'link_ids' | 'link_attach_flags';
export const QUERY_ARRAY_NAMES: readonly QueryArrayName[] = ['prog_ids', 'prog_attach_flags', 'link_ids', 'link_attach_flags'];

/** A relative_fd/relative_id/replace_bpf_fd operand. */
export type Ref =
  | { fd: string } // the open fd of program or link `name`, or a number that is not an open fd
  | { id: string } // the kernel id of program or link `name` (0 for a link whose creation failed)
  | { value: number }; // a raw number

/** The whole bpf(2) boundary (spec "Attr size and contents"): bytes written into the attr, at an
 * offset from the start of union bpf_attr, after the step's own fields. */
export interface RawBytes {
  at: number;
  /** Lower-case hex, two digits a byte, at least one byte. */
  hex: string;
}

/** What any bpf(2) step may carry besides its own fields. */
export interface AttrFields {
  /** The size argument of bpf(2) (1..4096); absent: DEFAULT_ATTR_SIZE of the op. */
  attr_size?: number;
  raw?: RawBytes[];
}

/** The size libbpf passes for each command (offsetofend of the command's member of union bpf_attr
 * in the uapi the agent's kernel-abi.h describes): BPF_PROG_ATTACH/DETACH up to expected_revision,
 * BPF_PROG_QUERY `query`, BPF_LINK_CREATE `link_create`, BPF_LINK_UPDATE `link_update`,
 * BPF_LINK_DETACH `link_detach`, BPF_OBJ_GET_INFO_BY_FD `info`. */
export const DEFAULT_ATTR_SIZE = {
  prog_attach: 32,
  prog_detach: 32,
  link_create: 64,
  link_update: 16,
  link_detach: 4,
  link_info: 16,
  query: 64,
} as const;
export type AttrOp = keyof typeof DEFAULT_ATTR_SIZE;
export const ATTR_SIZE_MAX = 4096;

/** Whether a step is a bpf(2) call that may carry attr fields. */
export function isAttrOp(op: string): op is AttrOp {
  return Object.hasOwn(DEFAULT_ATTR_SIZE, op);
}

/** The step's attr fields when it carries any (attr_size or raw), else null. */
export function stepAttr(step: Step): { size: number; raw: RawBytes[] } | null {
  if (!isAttrOp(step.op)) return null;
  const a = step as AttrFields;
  if (a.attr_size === undefined && a.raw === undefined) return null;
  return { size: a.attr_size ?? DEFAULT_ATTR_SIZE[step.op], raw: a.raw ?? [] };
}

export interface ProgAttachStep extends AttrFields {
  op: 'prog_attach';
  prog: string;
  dev: DevRef;
  attach_type: number;
  flags: number;
  relative: Ref | null;
  replace: Ref | null;
  expected_revision: number;
}

export interface ProgDetachStep extends AttrFields {
  op: 'prog_detach';
  prog: string | null; // null: attach_bpf_fd = 0
  dev: DevRef;
  attach_type: number;
  flags: number;
  relative: Ref | null;
  expected_revision: number;
}

export interface LinkCreateStep extends AttrFields {
  op: 'link_create';
  link: string;
  prog: string;
  dev: DevRef;
  attach_type: number;
  flags: number;
  relative: Ref | null;
  expected_revision: number;
}

export interface LinkUpdateStep extends AttrFields {
  op: 'link_update';
  link: string;
  prog: string;
  old_prog: string | null;
  flags: number;
}

export interface LinkOnlyStep extends AttrFields {
  op: 'link_detach' | 'link_close' | 'link_info';
  link: string;
}

export interface ProgCloseStep {
  op: 'prog_close';
  prog: string;
}

export interface QueryStep extends AttrFields {
  op: 'query';
  dev: DevRef;
  attach_type: number;
  count: number;
  query_flags: number;
  attach_flags: number;
  /** The arrays passed (when count > 0) and reported; absent: all four. */
  arrays?: QueryArrayName[];
}

export interface DevCreateStep {
  op: 'dev_create';
  name: string;
  kind: DeviceKind;
  peer: string;
}

export interface DevDeleteStep {
  op: 'dev_delete';
  dev: string;
}

/** The qdiscs that share a device's tcx entries (net/sched/sch_ingress.c). */
export type QdiscKind = 'clsact' | 'ingress';

/** qdisc_add / qdisc_delete: RTM_NEWQDISC (create, exclusive) / RTM_DELQDISC of `kind` on `dev`,
 * parent TC_H_CLSACT (= TC_H_INGRESS), handle ffff: — what `tc qdisc add|del dev DEV KIND` sends. */
export interface QdiscStep {
  op: 'qdisc_add' | 'qdisc_delete';
  dev: string;
  kind: QdiscKind;
}

export interface CgroupCreateStep {
  op: 'cgroup_create';
  name: string;
  parent: string | null;
}

export interface CgroupDeleteStep {
  op: 'cgroup_delete';
  cgroup: string;
}

/** What any step may carry (spec "Caller privileges"): the caller's effective capabilities for
 * this call alone, by name (`[]`: none); absent: the sequence's. */
export interface CallerFields {
  caps?: CapabilityName[];
}

export type Step = (
  | ProgAttachStep
  | ProgDetachStep
  | LinkCreateStep
  | LinkUpdateStep
  | LinkOnlyStep
  | ProgCloseStep
  | QueryStep
  | DevCreateStep
  | DevDeleteStep
  | QdiscStep
  | CgroupCreateStep
  | CgroupDeleteStep
) &
  CallerFields;

export type StepOp = Step['op'];

export interface Sequence {
  format: 'mprog-seq/1';
  name: string;
  description?: string;
  /** Where the sequence came from, for messages; not part of the format. */
  file: string;
  devices: DeviceDecl[];
  /** Cgroups made before step 0, in order (parents first); absent: none. */
  cgroups?: CgroupDecl[];
  /** Maps made before the programs, in order (spec "Maps"); absent: none. */
  maps?: MapDecl[];
  programs: ProgramDecl[];
  steps: Step[];
  /** `expect` of each step, index-aligned with `steps` (undefined: none). */
  expects: (Expect | undefined)[];
  /** Every link name bound by a link_create step. */
  links: string[];
  /** The effective capabilities of the process that loads the programs and runs the steps, by
   * name (spec "Caller privileges"; `[]`: none); absent: every capability, as root. */
  caps?: CapabilityName[];
}

/** The capabilities of the caller of step `i` (its own, else the sequence's), or null: every one. */
export function callerCaps(seq: Sequence, step: Step | null): CapabilityName[] | null {
  return step?.caps ?? seq.caps ?? null;
}

/** Whether a sequence declares maps (its programs' loads may then fail: the verifier's rules). */
export function usesMaps(seq: Sequence): boolean {
  return (seq.maps?.length ?? 0) > 0;
}

/** Whether a sequence names a caller's capabilities anywhere (its own or a step's). */
export function usesCaps(seq: Sequence): boolean {
  return seq.caps !== undefined || seq.steps.some((s) => s.caps !== undefined);
}

// ---- results (the normalised form every target answers in) ----

/** A kernel id after normalisation: a sequence name, null for 0, or "#<id>". */
export type NameOrId = string | null;

/** The arrays are those the query step named (all four by default); an array not named is absent. */
export interface QueryResult {
  count: number;
  revision: number;
  attach_flags: number;
  prog_ids?: NameOrId[];
  link_ids?: NameOrId[];
  prog_attach_flags?: number[];
  link_attach_flags?: number[];
}

/** A tcx or netkit link reports its device (`dev`), a cgroup link its cgroup (`cgroup`), a netns
 * link its network namespace (`netns`: "self" for the sequence's): a name, null for 0 (detached),
 * or "#<id>" for one the sequence did not make. */
export interface LinkInfoResult {
  prog: NameOrId;
  dev?: string | null;
  cgroup?: string | null;
  netns?: string | null;
  attach_type: string | number;
}

export interface StepResult {
  step: number;
  op: StepOp;
  ok: boolean;
  errno?: string;
  query?: QueryResult;
  link_info?: LinkInfoResult;
  /** Only on a step with attr_size or raw, only when true: the kernel changed a byte of the
   * caller's buffer past attr_size. */
  beyond_size?: true;
}

/** A partial StepResult; every field given must match. */
export interface Expect {
  ok?: boolean;
  errno?: string;
  query?: Partial<QueryResult>;
  link_info?: Partial<LinkInfoResult>;
  beyond_size?: boolean;
}

// ---- raw results (what a target reports before normalisation) ----

export interface RawQuery {
  count: number;
  revision: number;
  attach_flags: number;
  /** The caller's buffers read back: min(requested count, count) elements each (0 where the kernel
   * wrote nothing), or none. */
  prog_ids: number[];
  link_ids: number[];
  prog_attach_flags: number[];
  link_attach_flags: number[];
}

/** ifindex for tcx and netkit links, cgroup_id for cgroup links, netns_ino for netns links (struct
 * bpf_link_info's union). */
export type RawLinkInfo = { prog_id: number; attach_type: number } & ({ ifindex: number } | { cgroup_id: number } | { netns_ino: number });

export interface RawStepResult {
  /** The syscall's return value (>= 0), or -errno. */
  ret: number;
  query?: RawQuery;
  link_info?: RawLinkInfo;
  /** A step with attr fields: whether the kernel changed a byte past attr_size (the canary). */
  beyond_size?: boolean;
}

/** A table keyed by a sequence's names, which may be any name the format allows ("__proto__",
 * "constructor"): an object without a prototype, so that no name reaches or reads one. */
export function nameTable<T>(entries: Iterable<readonly [string, T]> = []): Record<string, T> {
  const table = Object.create(null) as Record<string, T>;
  for (const [name, value] of entries) table[name] = value;
  return table;
}

/** Everything a target observed while replaying one sequence, with raw kernel numbers. */
export interface RawSequenceResult {
  kernel: string;
  /** What the kernel held besides the sequence (ids, outside objects, configuration): the
   * emulator compared with this target must see the same. Absent for the emulator itself. */
  world?: KernelWorld;
  /** Kernel id of each program name (after load) and each link name (0: creation failed); nameTable()s. */
  progIds: Record<string, number>;
  linkIds: Record<string, number>;
  /** Device name of every ifindex seen during the run (devices can be re-created). */
  devNames: Record<number, string>;
  /** Cgroup name of every cgroup id (inode number) seen during the run (absent: none). */
  cgroupNames?: Record<number, string>;
  /** The inode number of the sequence's network namespace (what a netns link's info reports),
   * when the sequence has a netns target. */
  netnsIno?: number;
  steps: RawStepResult[];
}

/** Whether a sequence reaches cgroups: declares one, or has a step that makes, removes or names one. */
export function usesCgroups(seq: Sequence): boolean {
  if (seq.cgroups?.length) return true;
  return seq.steps.some(
    (s) =>
      s.op === 'cgroup_create' || s.op === 'cgroup_delete' || ('dev' in s && typeof s.dev === 'object' && ('cgroup' in s.dev || 'cgroupFd' in s.dev)),
  );
}

/** Whether a sequence reaches the flow dissector: a program of that type, or a netns target. */
export function usesNetns(seq: Sequence): boolean {
  return (
    seq.programs.some((p) => p.type === 'flow_dissector') || seq.steps.some((s) => 'dev' in s && typeof s.dev === 'object' && isNetnsTarget(s.dev))
  );
}
