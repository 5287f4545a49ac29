// From a target's raw kernel numbers to the normalised result form of mprog-seq/1: ids become
// the sequence's names, errnos their symbolic names.

import { errnoName } from '../emulator/errno.js';
import { attachTypeName } from '../emulator/uapi.js';
import { LOOPBACK_IFINDEX, type NameOrId, type RawSequenceResult, type RawStepResult, type Sequence, type StepResult } from '../contract/seq.js';

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

function normaliseStep(seq: Sequence, raw: RawStepResult, index: number, progs: Map<number, string>, links: Map<number, string>, devNames: Record<number, string>): StepResult {
  const result: StepResult = { step: index, op: seq.steps[index]!.op, ok: raw.ret >= 0 };
  if (raw.ret < 0) result.errno = errnoName(-raw.ret);
  if (raw.query) {
    const q = raw.query;
    result.query = {
      count: q.count,
      revision: q.revision,
      attach_flags: q.attach_flags,
      prog_ids: q.prog_ids.map((id) => nameOf(progs, id)),
      link_ids: q.link_ids.map((id) => nameOf(links, id)),
      prog_attach_flags: q.prog_attach_flags,
      link_attach_flags: q.link_attach_flags,
    };
  }
  if (raw.link_info) {
    const li = raw.link_info;
    result.link_info = {
      prog: nameOf(progs, li.prog_id),
      dev: devName(devNames, li.ifindex),
      attach_type: attachTypeName(li.attach_type),
    };
  }
  return result;
}

export function normalise(seq: Sequence, raw: RawSequenceResult): StepResult[] {
  const progs = inverse(raw.progIds);
  const links = inverse(raw.linkIds);
  return raw.steps.map((step, i) => normaliseStep(seq, step, i, progs, links, raw.devNames));
}
