// The bpftool cross-check: a query that answered in full must list what bpftool, run right
// after it in the same netns, lists for that device and attach point (vm/agent/PROTOCOL.md).

import { BPF_NETKIT_PEER, BPF_NETKIT_PRIMARY, BPF_TCX_EGRESS, BPF_TCX_INGRESS } from '../../emulator/uapi.js';
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

/** The `tc` entries of bpftool's batch element for `net show`:
 * `{"command":["net","show"],"output":[{"xdp":[...],"tc":[{devname,ifindex,kind,prog_id,link_id,...}],...}]}`. */
export function bpftoolEntries(seq: Sequence, i: number, text: string): BpftoolEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
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
