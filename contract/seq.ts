// The in-memory form of one mprog-seq/1 file (../shared/spec/mprog-seq.md), after parsing.
// Names stay symbolic; every number is already what goes into the bpf(2) attr.

import type { KernelWorld } from '../emulator/world.js';

/** Every network namespace has its loopback device at ifindex 1 (LOOPBACK_IFINDEX). */
export const LOOPBACK_IFINDEX = 1;

export type DeviceKind = 'veth' | 'netkit';
export type ProgramType = 'sched_cls' | 'xdp' | 'cgroup_skb' | 'cgroup_sockopt';

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
}

/** A cgroup made before step 0 (or by cgroup_create): a directory under the sequence's private
 * root; `parent` names an earlier cgroup, null for that root. */
export interface CgroupDecl {
  name: string;
  parent: string | null;
}

/** The attach target of a step (`dev` or `cgroup` in the file): a device by name (resolved to its
 * ifindex at the time of the call) or a raw ifindex; a cgroup by name (its directory's fd) or a
 * raw target fd. */
export type DevRef = { name: string } | { ifindex: number } | { cgroup: string } | { cgroupFd: number };

/** The query arrays a query step passes. */
export type QueryArrayName = 'prog_ids' | 'prog_attach_flags' | 'link_ids' | 'link_attach_flags';
export const QUERY_ARRAY_NAMES: readonly QueryArrayName[] = ['prog_ids', 'prog_attach_flags', 'link_ids', 'link_attach_flags'];

/** A relative_fd/relative_id/replace_bpf_fd operand. */
export type Ref =
  | { fd: string }      // the open fd of program or link `name`, or a number that is not an open fd
  | { id: string }      // the kernel id of program or link `name` (0 for a link whose creation failed)
  | { value: number };  // a raw number

export interface ProgAttachStep {
  op: 'prog_attach';
  prog: string;
  dev: DevRef;
  attach_type: number;
  flags: number;
  relative: Ref | null;
  replace: Ref | null;
  expected_revision: number;
}

export interface ProgDetachStep {
  op: 'prog_detach';
  prog: string | null; // null: attach_bpf_fd = 0
  dev: DevRef;
  attach_type: number;
  flags: number;
  relative: Ref | null;
  expected_revision: number;
}

export interface LinkCreateStep {
  op: 'link_create';
  link: string;
  prog: string;
  dev: DevRef;
  attach_type: number;
  flags: number;
  relative: Ref | null;
  expected_revision: number;
}

export interface LinkUpdateStep {
  op: 'link_update';
  link: string;
  prog: string;
  old_prog: string | null;
  flags: number;
}

export interface LinkOnlyStep {
  op: 'link_detach' | 'link_close' | 'link_info';
  link: string;
}

export interface ProgCloseStep {
  op: 'prog_close';
  prog: string;
}

export interface QueryStep {
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

export interface CgroupCreateStep {
  op: 'cgroup_create';
  name: string;
  parent: string | null;
}

export interface CgroupDeleteStep {
  op: 'cgroup_delete';
  cgroup: string;
}

export type Step =
  | ProgAttachStep
  | ProgDetachStep
  | LinkCreateStep
  | LinkUpdateStep
  | LinkOnlyStep
  | ProgCloseStep
  | QueryStep
  | DevCreateStep
  | DevDeleteStep
  | CgroupCreateStep
  | CgroupDeleteStep;

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
  programs: ProgramDecl[];
  steps: Step[];
  /** `expect` of each step, index-aligned with `steps` (undefined: none). */
  expects: (Expect | undefined)[];
  /** Every link name bound by a link_create step. */
  links: string[];
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

/** A tcx or netkit link reports its device (`dev`), a cgroup link its cgroup (`cgroup`): a name,
 * null for 0 (detached), or "#<id>" for one the sequence did not make. */
export interface LinkInfoResult {
  prog: NameOrId;
  dev?: string | null;
  cgroup?: string | null;
  attach_type: string | number;
}

export interface StepResult {
  step: number;
  op: StepOp;
  ok: boolean;
  errno?: string;
  query?: QueryResult;
  link_info?: LinkInfoResult;
}

/** A partial StepResult; every field given must match. */
export interface Expect {
  ok?: boolean;
  errno?: string;
  query?: Partial<QueryResult>;
  link_info?: Partial<LinkInfoResult>;
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

/** ifindex for tcx and netkit links, cgroup_id for cgroup links (struct bpf_link_info's union). */
export type RawLinkInfo = { prog_id: number; attach_type: number } & ({ ifindex: number } | { cgroup_id: number });

export interface RawStepResult {
  /** The syscall's return value (>= 0), or -errno. */
  ret: number;
  query?: RawQuery;
  link_info?: RawLinkInfo;
}

/** Everything a target observed while replaying one sequence, with raw kernel numbers. */
export interface RawSequenceResult {
  kernel: string;
  /** What the kernel held besides the sequence (ids, outside objects, configuration): the
   * emulator compared with this target must see the same. Absent for the emulator itself. */
  world?: KernelWorld;
  /** Kernel id of each program name (after load) and each link name (0: creation failed). */
  progIds: Record<string, number>;
  linkIds: Record<string, number>;
  /** Device name of every ifindex seen during the run (devices can be re-created). */
  devNames: Record<number, string>;
  /** Cgroup name of every cgroup id (inode number) seen during the run (absent: none). */
  cgroupNames?: Record<number, string>;
  steps: RawStepResult[];
}

/** Whether a sequence reaches cgroups: declares one, or has a step that makes, removes or names one. */
export function usesCgroups(seq: Sequence): boolean {
  if (seq.cgroups?.length) return true;
  return seq.steps.some((s) => s.op === 'cgroup_create' || s.op === 'cgroup_delete' || ('dev' in s && typeof s.dev === 'object' && ('cgroup' in s.dev || 'cgroupFd' in s.dev)));
}
