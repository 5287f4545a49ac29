// The bpftool cross-check: a query that answered in full must list what bpftool, run right
// after it in the same netns, lists for that device and attach point (vm/agent/PROTOCOL.md).

import {
  BPF_F_ALLOW_MULTI,
  BPF_F_ALLOW_OVERRIDE,
  BPF_F_QUERY_EFFECTIVE,
  BPF_NETKIT_PEER,
  BPF_NETKIT_PRIMARY,
  BPF_TCX_EGRESS,
  BPF_TCX_INGRESS,
  attachTypeName,
} from '../../uapi/bpf.js';
import type { RawStepResult, Sequence } from '../../contract/seq.js';
import { TargetError } from '../../contract/target.js';

/** bpftool's `kind` for each attach type it lists per device (tools/bpf/bpftool/net.c). */
const BPFTOOL_KIND: Record<number, string> = {
  [BPF_TCX_INGRESS]: 'tcx/ingress',
  [BPF_TCX_EGRESS]: 'tcx/egress',
  [BPF_NETKIT_PRIMARY]: 'netkit/primary',
  [BPF_NETKIT_PEER]: 'netkit/peer',
};

interface BpftoolEntry {
  ifindex: number;
  kind: string;
  prog_id: number;
  link_id: number;
}

/** bpftool's `net show` lists a netns's flow dissector as `"flow_dissector":["id":N]` (seen on 6.18.44), a field
 * with no object around it (tools/bpf/bpftool/net.c, query_flow_dissector()): made `[{"id":N}]`. */
function flowDissectorAsObjects(text: string): string {
  return text.replace(
    /"flow_dissector":\[((?:"id":\d+,?)*)\]/g,
    (_, ids: string) =>
      `"flow_dissector":[${ids
        .split(',')
        .filter(Boolean)
        .map((id) => `{${id}}`)
        .join(',')}]`,
  );
}

/** The `tc` entries of bpftool's batch element for `net show`:
 * `{"command":["net","show"],"output":[{"xdp":[...],"tc":[{devname,ifindex,kind,prog_id,link_id,...}],...}]}`. */
export function bpftoolEntries(seq: Sequence, i: number, text: string): BpftoolEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(flowDissectorAsObjects(text));
  } catch {
    throw new TargetError('harness-fault', `${seq.file}: step ${i}: bpftool printed no valid JSON: ${text.slice(0, 200)}`);
  }
  const output = (json as { output?: unknown } | null)?.output;
  const tc = Array.isArray(output) ? (output[0] as { tc?: unknown } | undefined)?.tc : undefined;
  if (!Array.isArray(tc)) {
    throw new TargetError('harness-fault', `${seq.file}: step ${i}: bpftool output has no "tc" list: ${JSON.stringify(json).slice(0, 200)}`);
  }
  return tc.map((e: Record<string, unknown>) => ({
    ifindex: Number(e['ifindex']),
    kind: String(e['kind']),
    prog_id: Number(e['prog_id']),
    link_id: Number(e['link_id'] ?? 0),
  }));
}

/**
 * When the query answered with the full list, bpftool (a separate BPF_PROG_QUERY by libbpf
 * right after it) must list the same programs and links in the same order for that device
 * and attach point.
 */
export function crossCheck(seq: Sequence, i: number, result: RawStepResult, ifindex: number, text: string): void {
  const step = seq.steps[i]!;
  if (step.op === 'query' && 'cgroup' in step.dev) return crossCheckCgroup(seq, i, result, text);
  const kind = step.op === 'query' ? BPFTOOL_KIND[step.attach_type] : undefined;
  const q = result.query;
  if (kind === undefined || result.ret !== 0 || q === undefined || q.prog_ids.length !== q.count) return;
  const entries = bpftoolEntries(seq, i, text).filter((e) => e.ifindex === ifindex && e.kind === kind);
  const tool = { prog_ids: entries.map((e) => e.prog_id), link_ids: entries.map((e) => e.link_id) };
  const agent = { prog_ids: q.prog_ids, link_ids: q.link_ids };
  if (JSON.stringify(tool) !== JSON.stringify(agent)) {
    throw new TargetError(
      'harness-fault',
      `${seq.file}: step ${i} (query ifindex ${ifindex} ${kind}): the agent's query says ${JSON.stringify(agent)}, ` +
        `bpftool says ${JSON.stringify(tool)}`,
    );
  }
}

interface BpftoolCgroupEntry {
  id: number;
  attach_type: string | number;
  /** Absent for an effective query. */
  attach_flags?: string;
}

/** bpftool's batch element for `cgroup show PATH [effective]`:
 * `{"command":["cgroup","show",PATH],"output":[{id,attach_type,attach_flags,name,...}]}`, every
 * attach type of the cgroup in one list. */
export function bpftoolCgroupEntries(seq: Sequence, i: number, text: string): BpftoolCgroupEntry[] {
  let json: unknown;
  try {
    // A cgroup with nothing attached prints no list at all: batch's element is then `"output":}`.
    json = JSON.parse(text.replace(/"output":\}$/, '"output":[]}'));
  } catch {
    throw new TargetError('harness-fault', `${seq.file}: step ${i}: bpftool printed no valid JSON: ${text.slice(0, 200)}`);
  }
  const output = (json as { output?: unknown } | null)?.output;
  if (!Array.isArray(output)) {
    throw new TargetError('harness-fault', `${seq.file}: step ${i}: bpftool's cgroup show has no output list: ${JSON.stringify(json).slice(0, 200)}`);
  }
  return output.map((e: Record<string, unknown>) => ({
    id: Number(e['id']),
    attach_type: typeof e['attach_type'] === 'string' ? e['attach_type'] : Number(e['attach_type']),
    ...(typeof e['attach_flags'] === 'string' && { attach_flags: e['attach_flags'] }),
  }));
}

/** bpftool's word for a cgroup list's mode (tools/bpf/bpftool/cgroup.c). */
function bpftoolAttachFlags(flags: number): string {
  if (flags === BPF_F_ALLOW_MULTI) return 'multi';
  if (flags === BPF_F_ALLOW_OVERRIDE) return 'override';
  return flags === 0 ? '' : String(flags);
}

/**
 * A cgroup query that answered with the full list of program ids: bpftool's `cgroup show` of the
 * same cgroup (effective or not, as the query) must list the same programs in the same order for
 * that attach type, and (not effective) the same mode.
 */
function crossCheckCgroup(seq: Sequence, i: number, result: RawStepResult, text: string): void {
  const step = seq.steps[i]!;
  const q = result.query;
  if (step.op !== 'query' || result.ret !== 0 || q === undefined || q.prog_ids.length !== q.count) return;
  if (step.arrays && !step.arrays.includes('prog_ids')) return;
  const type = attachTypeName(step.attach_type);
  const entries = bpftoolCgroupEntries(seq, i, text).filter((e) => e.attach_type === type);
  const effective = (step.query_flags & BPF_F_QUERY_EFFECTIVE) !== 0;
  const tool = { prog_ids: entries.map((e) => e.id), ...(!effective && entries.length && { attach_flags: entries[0]!.attach_flags }) };
  const agent = { prog_ids: q.prog_ids, ...(!effective && q.count && { attach_flags: bpftoolAttachFlags(q.attach_flags) }) };
  if (JSON.stringify(tool) !== JSON.stringify(agent)) {
    throw new TargetError(
      'harness-fault',
      `${seq.file}: step ${i} (cgroup query ${type}${effective ? ', effective' : ''}): the agent's query says ${JSON.stringify(agent)}, bpftool says ${JSON.stringify(tool)}`,
    );
  }
}
