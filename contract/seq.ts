// The in-memory form of one mprog-seq/1 file (../shared/spec/mprog-seq.md), after parsing.
// Names stay symbolic; every number is already what goes into the bpf(2) attr.

import type { KernelWorld } from '../emulator/world.js';

/** Every network namespace has its loopback device at ifindex 1 (LOOPBACK_IFINDEX). */
export const LOOPBACK_IFINDEX = 1;

export type DeviceKind = 'veth' | 'netkit';
export type ProgramType = 'sched_cls' | 'xdp' | 'cgroup_skb';

export interface DeviceDecl {
  name: string;
  kind: DeviceKind;
  peer: string;
}

export interface ProgramDecl {
  name: string;
  type: ProgramType;
}

/** A device operand: by name (resolved to its ifindex at the time of the call) or a raw ifindex. */
export type DevRef = { name: string } | { ifindex: number };

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

export type Step =
  | ProgAttachStep
  | ProgDetachStep
  | LinkCreateStep
  | LinkUpdateStep
  | LinkOnlyStep
  | ProgCloseStep
  | QueryStep
  | DevCreateStep
  | DevDeleteStep;

export type StepOp = Step['op'];

export interface Sequence {
  format: 'mprog-seq/1';
  name: string;
  description?: string;
  /** Where the sequence came from, for messages; not part of the format. */
  file: string;
  devices: DeviceDecl[];
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

export interface QueryResult {
  count: number;
  revision: number;
  attach_flags: number;
  prog_ids: NameOrId[];
  link_ids: NameOrId[];
  prog_attach_flags: number[];
  link_attach_flags: number[];
}

export interface LinkInfoResult {
  prog: NameOrId;
  dev: string | null;
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
  /** Only the elements the kernel wrote: min(requested count, count), or none. */
  prog_ids: number[];
  link_ids: number[];
  prog_attach_flags: number[];
  link_attach_flags: number[];
}

export interface RawLinkInfo {
  prog_id: number;
  ifindex: number;
  attach_type: number;
}

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
  steps: RawStepResult[];
}
