// From a target's raw kernel numbers to the normalised result form of mprog-seq/1: ids become
// the sequence's names, errnos their symbolic names.

import { errnoName } from '../../uapi/errno.js';
import { attachTypeName } from '../../uapi/bpf.js';
import {
  LOOPBACK_IFINDEX,
  type NameOrId,
  QUERY_ARRAY_NAMES,
  type QueryResult,
  type RawSequenceResult,
  type RawStepResult,
  type Sequence,
  type StepResult,
  stepAttr,
} from '../../contract/seq.js';

function devName(devNames: Record<number, string>, ifindex: number): string | null {
  if (ifindex === 0) return null;
  return devNames[ifindex] ?? (ifindex === LOOPBACK_IFINDEX ? 'lo' : `#${ifindex}`);
}

function inverse(ids: Record<string, number>): Map<number, string> {
  const names = new Map<number, string>();
  for (const [name, id] of Object.entries(ids)) if (id) names.set(id, name);
  return names;
}

function nameOf(names: Map<number, string>, id: number): NameOrId {
  if (id === 0) return null;
  return names.get(id) ?? `#${id}`;
}

/** A cgroup id as the sequence's name for it; null for 0 (a link cut loose from its cgroup). */
function cgroupName(cgroupNames: Record<number, string>, id: number): string | null {
  if (id === 0) return null;
  return cgroupNames[id] ?? `#${id}`;
}

/** A netns inode number as the format names it: "self" for the sequence's, null for 0 (a link
 * detached). */
function netnsName(self: number | undefined, ino: number): string | null {
  if (ino === 0) return null;
  return ino === self ? 'self' : `#${ino}`;
}

interface Names {
  progs: Map<number, string>;
  links: Map<number, string>;
  devNames: Record<number, string>;
  cgroupNames: Record<number, string>;
  netnsIno: number | undefined;
}

function normaliseStep(seq: Sequence, raw: RawStepResult, index: number, names: Names): StepResult {
  const step = seq.steps[index]!;
  const result: StepResult = { step: index, op: step.op, ok: raw.ret >= 0 };
  if (raw.ret < 0) result.errno = errnoName(-raw.ret);
  if (raw.query) {
    const q = raw.query;
    const all: Required<QueryResult> = {
      count: q.count,
      revision: q.revision,
      attach_flags: q.attach_flags,
      prog_ids: q.prog_ids.map((id) => nameOf(names.progs, id)),
      link_ids: q.link_ids.map((id) => nameOf(names.links, id)),
      prog_attach_flags: q.prog_attach_flags,
      link_attach_flags: q.link_attach_flags,
    };
    // Exactly the arrays the step named (all four by default), in the usual order.
    const arrays = step.op === 'query' && step.arrays ? step.arrays : QUERY_ARRAY_NAMES;
    const query: QueryResult = { count: all.count, revision: all.revision, attach_flags: all.attach_flags };
    for (const name of QUERY_ARRAY_NAMES) if (arrays.includes(name)) Object.assign(query, { [name]: all[name] });
    result.query = query;
  }
  if (raw.link_info) {
    const li = raw.link_info;
    const prog = nameOf(names.progs, li.prog_id);
    const attach_type = attachTypeName(li.attach_type);
    if ('cgroup_id' in li) result.link_info = { prog, cgroup: cgroupName(names.cgroupNames, li.cgroup_id), attach_type };
    else if ('netns_ino' in li) result.link_info = { prog, netns: netnsName(names.netnsIno, li.netns_ino), attach_type };
    else result.link_info = { prog, dev: devName(names.devNames, li.ifindex), attach_type };
  }
  if (raw.beyond_size && stepAttr(step)) result.beyond_size = true;
  return result;
}

export function normalise(seq: Sequence, raw: RawSequenceResult): StepResult[] {
  const names = {
    progs: inverse(raw.progIds),
    links: inverse(raw.linkIds),
    devNames: raw.devNames,
    cgroupNames: raw.cgroupNames ?? {},
    netnsIno: raw.netnsIno,
  };
  return raw.steps.map((step, i) => normaliseStep(seq, step, i, names));
}
